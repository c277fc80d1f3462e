from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "shouwang.alerts"
    label = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from shouwang.alerts import perms

        perms.grant()
        # Registers its alert kind, so settings and stats know it in every process.
        from shouwang.alerts import privacy  # noqa: F401
        from shouwang.alerts.evaluate import on_ingest
        from shouwang.devices import pipeline

        # Stored door events and device health go through the alert rules (devices.pipeline).
        pipeline.register(on_ingest)
