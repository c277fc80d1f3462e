from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PassesConfig(AppConfig):
    name = "shouwang.passes"
    label = "passes"
    verbose_name = _("Passes and gates")

    def ready(self) -> None:
        from shouwang.core import nav

        # The pass list for those who issue passes; the gate for a guard.
        nav.register_link(
            "passes",
            80,
            nav.Choice("passes.view_pass", "pass-list", _("Passes")),
            nav.Choice("passes.use_gate", "gate", _("Gate"), name="gate"),
        )
        from shouwang.core import demo
        from shouwang.passes import demo as passes_demo
        from shouwang.passes import perms

        perms.grant()
        demo.register("passes", passes_demo.demo_part, order=30)
