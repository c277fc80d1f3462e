from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuarantineConfig(AppConfig):
    name = "shouwang.quarantine"
    label = "quarantine"
    verbose_name = _("Home quarantine and care watch")

    def ready(self) -> None:
        from shouwang.quarantine import perms

        perms.grant()
        # Registers the app's alert kinds (missed check, fever) and its area settings.
        from shouwang.alerts.services import announce
        from shouwang.quarantine import rules  # noqa: F401
        from shouwang.quarantine.services import family

        if family.plan not in announce.AFTER_CHANGE:
            announce.AFTER_CHANGE.append(family.plan)
