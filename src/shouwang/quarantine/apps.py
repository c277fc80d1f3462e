from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuarantineConfig(AppConfig):
    name = "shouwang.quarantine"
    label = "quarantine"
    verbose_name = _("Home quarantine and care watch")

    def ready(self) -> None:
        from shouwang.core import nav

        nav.register_link(
            "quarantine",
            60,
            nav.Choice("quarantine.view_case", "quarantine-today", _("Quarantine")),
        )
        # The app's alert kinds and rules are found by the alerts app (alert_kinds.py).
        from shouwang.alerts.notify import recipients
        from shouwang.core import demo, home
        from shouwang.quarantine import demo as quarantine_demo
        from shouwang.quarantine import perms
        from shouwang.quarantine.services import family
        from shouwang.quarantine.views import home_section

        perms.grant()
        # Cases and care watch need the demo's sensors: after the devices part.
        demo.register("quarantine", quarantine_demo.demo_part, order=20)
        home.register_section("quarantine-now", "quarantine/_home_now.html", home_section, 10)
        # A person's family contacts: a kind of recipient of the alerts' delivery engine.
        recipients.register(family.FamilyContacts())
