"""The sections of a staff member's home page that other apps contribute.

`core` renders the home page but imports no app above it; an app that has something a person
must act on today (the quarantine app: alerts, checks due, sensors, cases ending) registers a
section here from its `AppConfig.ready()`. Registered: `quarantine` ("now", the worker's day).

A section's `build(actor)` returns the context for its template, or None when it has nothing
for this actor (no permission, nothing in their areas). It must make a fixed number of queries
whatever the size of the actor's areas: the home page is opened all day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Section:
    name: str
    template: str
    build: Callable[[Any], dict[str, Any] | None]
    order: int = 100


_SECTIONS: dict[str, Section] = {}


def register_section(
    name: str, template: str, build: Callable[[Any], dict[str, Any] | None], order: int = 100
) -> None:
    if name in _SECTIONS:
        raise ImproperlyConfigured(f"home section {name!r} registered twice")
    _SECTIONS[name] = Section(name, template, build, order)


def render_sections(request: HttpRequest) -> list[SafeString]:
    """Each section that has something for the request's user, rendered, in order."""
    shown = []
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name)):
        context = section.build(request.user)
        if context is not None:
            shown.append(mark_safe(render_to_string(section.template, context, request)))  # noqa: S308 - a template's output
    return shown
