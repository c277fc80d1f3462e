from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    name = "shouwang.patrol"
    label = "patrol"
    verbose_name = _("Video patrol")

    def ready(self) -> None:
        # The app's alert kinds and overdue rule are found by the alerts app (alert_kinds.py).
        from shouwang.core import demo, home
        from shouwang.patrol import demo as patrol_demo
        from shouwang.patrol import perms
        from shouwang.patrol.views import home_section

        perms.grant()
        # Checkpoints at the demo's compounds, after the passes part.
        demo.register("patrol", patrol_demo.demo_part, order=40)
        home.register_section("patrol", "patrol/_home_patrol.html", home_section, 20)
