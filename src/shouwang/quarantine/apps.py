from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuarantineConfig(AppConfig):
    name = "shouwang.quarantine"
    label = "quarantine"
    verbose_name = _("Home quarantine and care watch")

    def ready(self) -> None:
        from shouwang.quarantine import perms

        perms.grant()
        from shouwang.core import home
        from shouwang.quarantine.views import home_section

        home.register_section("quarantine-now", "quarantine/_home_now.html", home_section, 10)
        from shouwang.alerts.notify import recipients
        from shouwang.quarantine.services import family

        # A person's family contacts: a kind of recipient of the alerts' delivery engine.
        recipients.register(family.FamilyContacts())
