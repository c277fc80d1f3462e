"""The links of the top navigation that other apps contribute.

`core` renders the page frame (`core/base.html`) but imports no app above it; each app that
has a screen of its own registers its link here from its `AppConfig.ready()`, the way it
registers its home section (`core.home`) and its demo part (`core.demo`). Registered: core
(areas, households, residents, import), alerts, quarantine, devices, passes (the pass list, or
the gate for a guard), patrol (rounds, or rectification orders for a community), reporting.

A link has one or more choices, each a permission and a URL name; a person sees the first
choice they hold, or nothing. The frame asks `links(request)` through the context processor
`nav_links`: no query beyond the user's permissions, which Django caches per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class Choice:
    perm: str  # "app_label.codename"
    url_name: str
    label: str | Promise
    name: str = ""  # when it is another screen than the link's first: its own data-testid


@dataclass(frozen=True)
class Link:
    name: str  # also the link's data-testid, "nav-<name>"
    order: int
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class Shown:
    name: str
    url: str
    label: str | Promise

    @property
    def testid(self) -> str:
        return f"nav-{self.name}"


_LINKS: dict[str, Link] = {}


def register_link(name: str, order: int, *choices: Choice) -> None:
    """Add a link to the top navigation; `order` places it (core's links are 10–40)."""
    if name in _LINKS:
        raise ImproperlyConfigured(f"navigation link {name!r} registered twice")
    if not choices:
        raise ImproperlyConfigured(f"navigation link {name!r} has no choice")
    _LINKS[name] = Link(name, order, tuple(choices))


def registered() -> list[Link]:
    return sorted(_LINKS.values(), key=lambda link: (link.order, link.name))


def links(user: Any) -> list[Shown]:
    """The links this user may follow, in order."""
    if not getattr(user, "is_authenticated", False):
        return []
    shown = []
    for link in registered():
        choice = next((c for c in link.choices if user.has_perm(c.perm)), None)
        if choice is not None:
            name = choice.name or link.name
            shown.append(Shown(name, reverse(choice.url_name), choice.label))
    return shown


def nav_links(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `nav_links`, computed only when a template uses it."""
    return {"nav_links": _Lazy(request)}


class _Lazy:
    # Pages that never render the frame (JSON, files) pay nothing.
    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self._links: list[Shown] | None = None

    def __iter__(self) -> Any:
        if self._links is None:
            self._links = links(getattr(self._request, "user", None))
        return iter(self._links)
