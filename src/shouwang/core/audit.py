"""Writing audit entries, with the origin (web, API, CLI, system) taken from context.

Actions pass the actor explicitly; where the request came from (address, user agent) is set
once per request by middleware, or by a command, and read here so no action has to thread it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import timezone

from shouwang.core.models import Area, AuditLog


@dataclass(frozen=True)
class Origin:
    source: str = "system"
    ip: str | None = None
    user_agent: str = ""


_origin: ContextVar[Origin] = ContextVar(
    "shouwang_audit_origin",
    default=Origin(),  # noqa: B039 - frozen dataclass, never mutated
)


def current_origin() -> Origin:
    return _origin.get()


@contextmanager
def origin(source: str, ip: str | None = None, user_agent: str = "") -> Iterator[Origin]:
    value = Origin(source=source, ip=ip, user_agent=user_agent[:200])
    token = _origin.set(value)
    try:
        yield value
    finally:
        _origin.reset(token)


def record(
    action: str,
    *,
    actor: Any = None,
    target: models.Model | None = None,
    area: Area | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditLog:
    """Write one audit entry. Call inside the action's transaction so both commit or neither."""
    where = _origin.get()
    real_actor = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditLog.objects.create(
        at=timezone.now(),
        actor=real_actor,
        actor_label=str(real_actor.get_username()) if real_actor else where.source,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        area=area,
        source=where.source,
        ip=where.ip,
        user_agent=where.user_agent,
        details=dict(details or {}),
    )
