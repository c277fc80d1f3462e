"""Staff accounts: each bound to one or more areas, with one role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform admin")
    TOWN_OPERATOR = "town_operator", _("Town / ops-centre operator")
    COMMUNITY_WORKER = "community_worker", _("Community worker")
    GATE_GUARD = "gate_guard", _("Gate guard")
    PATROL_OPERATOR = "patrol_operator", _("Patrol operator")
    ENTERPRISE_CONTACT = "enterprise_contact", _("Enterprise contact")
    REVIEWER = "reviewer", _("Reviewer")
    # The compound's property office (物业): sent to the door when a door alert fires.
    PROPERTY_OFFICE = "property_office", _("Property office")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, blank=True)
    areas = models.ManyToManyField(
        "core.Area", verbose_name=_("areas"), related_name="staff", blank=True
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def sees_everything(self) -> bool:
        return bool(self.is_superuser or self.role == Role.PLATFORM_ADMIN)
