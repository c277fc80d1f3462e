from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "shouwang.core"
    label = "core"
    verbose_name = _("Areas, residents and staff")

    def ready(self) -> None:
        from shouwang.core import checks, roles

        checks.register()

        roles.grant_core()
