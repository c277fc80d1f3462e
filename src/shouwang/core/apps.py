from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "shouwang.core"
    label = "core"
    verbose_name = _("Areas, residents and staff")

    def ready(self) -> None:
        from shouwang.core import checks, nav, roles

        checks.register()
        nav.register_link("areas", 10, nav.Choice("core.view_area", "area-tree", _("Areas")))
        nav.register_link(
            "households", 20, nav.Choice("core.view_household", "household-list", _("Households"))
        )
        nav.register_link(
            "residents", 30, nav.Choice("core.view_person", "person-list", _("Residents"))
        )
        nav.register_link(
            "import", 40, nav.Choice("core.import_residents", "roster-import", _("Import"))
        )

        roles.grant_core()
