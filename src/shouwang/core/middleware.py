"""Request-wide concerns: audit origin, login everywhere, no caching of personal pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers

from shouwang.core import audit

API_PREFIX = "/api/"


def client_ip(request: HttpRequest) -> str | None:
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= proxies and forwarded[-proxies]:
            return str(forwarded[-proxies])
    addr = request.META.get("REMOTE_ADDR")
    return str(addr) if addr else None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        source = "api" if request.path.startswith(API_PREFIX) else "web"
        with audit.origin(source, client_ip(request), request.META.get("HTTP_USER_AGENT", "")):
            response = self.get_response(request)
        if not request.path.startswith(
            settings.STATIC_URL
            if settings.STATIC_URL.startswith("/")
            else "/" + settings.STATIC_URL
        ):
            # Pages and answers may hold personal data: no browser or proxy may keep them.
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, " + response["Cache-Control"]
        return response


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's login-required-everywhere, except the API, which answers 401 itself."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if request.path.startswith(API_PREFIX):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


# Scripts only from our own files: no inline <script>, no on…= handlers, no eval. Styles only
# from our own files too: no <style> element, no style="" attribute (injected markup can restyle
# a page to mislead: hide a warning, dress a link up as a button). Nothing may frame a page
# (clickjacking), and nothing is loaded from anywhere else (no CDN: government networks are
# often offline). tests/browser/test_csp.py visits every screen.
_POLICY = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
CONTENT_SECURITY_POLICY = "; ".join(_POLICY)
# Django admin's templates and widgets and Swagger UI (the API document's page) write style
# attributes and <style> elements of their own, which neither nonces nor hashes can cover without
# 'unsafe-hashes' for every one of them (and Swagger UI makes new ones as it runs): their pages
# alone allow inline styles. Scripts stay as strict there. docs/security.md says why.
INLINE_STYLE_PATHS = ("/admin/", "/api/v1/docs")
CONTENT_SECURITY_POLICY_INLINE_STYLES = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def policy_for(path: str) -> str:
    if path.startswith(INLINE_STYLE_PATHS):
        return CONTENT_SECURITY_POLICY_INLINE_STYLES
    return CONTENT_SECURITY_POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy_for(request.path))
        return response
