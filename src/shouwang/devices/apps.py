from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "shouwang.devices"
    label = "devices"
    verbose_name = _("Devices")

    def ready(self) -> None:
        from shouwang.core import nav

        nav.register_link(
            "devices", 70, nav.Choice("devices.view_device", "device-list", _("Devices"))
        )
        from shouwang.core import demo
        from shouwang.devices import demo as devices_demo
        from shouwang.devices import perms

        perms.grant()
        demo.register("devices", devices_demo.seed_demo, order=10)
        demo.register("devices-count", devices_demo.count_sensors, order=100)
