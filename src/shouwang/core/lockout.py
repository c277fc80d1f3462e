"""django-axes (login lockout) under a translated name: the admin lists apps by their
AppConfig's verbose_name, and axes's own is the bare English "Axes"."""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class LockoutConfig(AxesAppConfig):  # type: ignore[misc]  # axes ships no types
    verbose_name = _("Login lockout")
