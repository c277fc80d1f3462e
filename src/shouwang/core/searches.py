"""Searches of personal data: posted, kept in the session, named in the URL by an opaque id.

A search for a resident names them (a name, an ID or phone number): in a URL it would be kept
by browser history, proxies and access logs. So every such search form is a POST (with CSRF);
the view keeps the text in the user's session and redirects (POST-redirect-GET) to a URL that
carries only a random id for it, beside the non-personal filters (area, status, day, page), so
pagination, reloads and the back button keep working. A GET that brings search text in its query
string (an old bookmark, a crafted link) is redirected without it: the text is neither run nor
echoed. Used by the resident list (`core.views.person_list`), the pass list, its "issue a pass
to" search and the gate's access log (`passes.views`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect

SESSION_KEY = "resident_searches"
# The last searches a session remembers: enough for the back button across a few searches.
KEPT = 20


def remember(request: HttpRequest, text: str) -> str:
    """Keep `text` in the session; the opaque id to put in the URL instead."""
    token = secrets.token_urlsafe(8)
    searches = dict(request.session.get(SESSION_KEY, {}))
    searches[token] = text
    request.session[SESSION_KEY] = dict(list(searches.items())[-KEPT:])
    return token


def recall(request: HttpRequest, token: str | None) -> str:
    """The text an id stands for in this session ("" for an unknown or another session's id)."""
    return str(request.session.get(SESSION_KEY, {}).get(token or "", ""))


def refused(request: HttpRequest) -> HttpResponseRedirect | None:
    """A posted search with a character that cannot be accepted (core.edge): the error is shown
    on the page again (a message), the search is not run; None when there is nothing refused."""
    errors = getattr(request.POST, "refused", {})
    if not errors:
        return None
    for message in dict.fromkeys(errors.values()):
        messages.error(request, message)
    return _to(request, request.GET.urlencode())


def without_text_in_url(request: HttpRequest, names: Iterable[str]) -> HttpResponseRedirect | None:
    """A redirect to the same page without the named parameters, if the URL carries any."""
    present = [name for name in names if name in request.GET]
    if not present:
        return None
    query = request.GET.copy()
    for name in present:
        query.pop(name)
    return _to(request, query.urlencode())


def redirect_posted(
    request: HttpRequest, *, texts: Mapping[str, str], params: Mapping[str, str | None]
) -> HttpResponseRedirect:
    """After a posted search: back to this page with `params` as given (None or "" drops one)
    and each of `texts` remembered under its id parameter (`{"s": "张三"}` → `?s=<id>`).

    The page's other parameters stay, so a second search form on the same page does not lose
    the first one's; the page number goes (a new search starts at page one)."""
    query = request.GET.copy()
    query.pop("page", None)
    for name, value in params.items():
        if value:
            query[name] = value
        else:
            query.pop(name, None)
    for name, text in texts.items():
        text = text.strip()
        if text:
            query[name] = remember(request, text)
        else:
            query.pop(name, None)
    return _to(request, query.urlencode())


def _to(request: HttpRequest, query: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)
