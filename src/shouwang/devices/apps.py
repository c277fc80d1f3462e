from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "shouwang.devices"
    label = "devices"
    verbose_name = _("Devices")

    def ready(self) -> None:
        from shouwang.devices import perms

        perms.grant()
