from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MasksConfig(AppConfig):
    name = "shouwang.masks"
    label = "masks"
    verbose_name = _("Mask reservation")

    def ready(self) -> None:
        from shouwang.core import demo, nav
        from shouwang.masks import demo as masks_demo
        from shouwang.masks import perms

        perms.grant()
        demo.register("masks", masks_demo.demo_part, order=50)
        nav.register_link("masks", 110, nav.Choice(perms.VIEW_ROUNDS, "masks-rounds", _("Masks")))
