"""Actions on staff accounts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from shouwang.core import audit
from shouwang.core.models import Area, Role, User
from shouwang.core.permissions import require
from shouwang.core.scoping import forget_area_paths


def create_staff(
    actor: Any,
    username: str,
    password: str,
    role: Role,
    areas: Iterable[Area],
    display_name: str = "",
) -> User:
    require(actor, "core.add_user")
    area_list = list(areas)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            is_staff=role == Role.PLATFORM_ADMIN,
            is_superuser=role == Role.PLATFORM_ADMIN,
        )
        user.areas.set(area_list)
        forget_area_paths(user)
        audit.record(
            "staff.create",
            actor=actor,
            target=user,
            details={"username": username, "role": role, "areas": [a.pk for a in area_list]},
        )
    return user
