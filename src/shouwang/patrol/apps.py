from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    name = "shouwang.patrol"
    label = "patrol"
    verbose_name = _("Video patrol")

    def ready(self) -> None:
        from shouwang.core import nav

        # Rounds for the operations centre; a community sees the orders it must answer.
        nav.register_link(
            "patrol",
            90,
            nav.Choice("patrol.view_round", "patrol-rounds", _("Patrol")),
            nav.Choice("patrol.view_rectificationorder", "patrol-orders", _("Rectification")),
        )
        # The app's alert kinds and overdue rule are found by the alerts app (alert_kinds.py).
        from shouwang.core import demo, home
        from shouwang.patrol import demo as patrol_demo
        from shouwang.patrol import perms
        from shouwang.patrol.views import home_section

        perms.grant()
        # Checkpoints at the demo's compounds, after the passes part.
        demo.register("patrol", patrol_demo.demo_part, order=40)
        home.register_section("patrol", "patrol/_home_patrol.html", home_section, 20)
