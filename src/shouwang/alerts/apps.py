from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "shouwang.alerts"
    label = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from shouwang.core import nav

        nav.register_link(
            "alerts", 50, nav.Choice("alerts.view_alert", "alert-console", _("Alerts"))
        )
        from shouwang.alerts import perms

        perms.grant()
        # Every app's alert kinds and rules (`alert_kinds.py`), so settings, stats and the
        # ingest path know them in every process. See `alerts.rules` for the list.
        autodiscover_modules("alert_kinds")
        from shouwang.alerts.evaluate import on_ingest
        from shouwang.devices import pipeline

        # Stored door events and device health go through the alert rules (devices.pipeline).
        pipeline.register(on_ingest)
        from shouwang.alerts import demo as alerts_demo
        from shouwang.core import demo

        # The demo's webhook to its own receiver, once every other part is seeded.
        demo.register("alerts", alerts_demo.demo_part, order=60)
