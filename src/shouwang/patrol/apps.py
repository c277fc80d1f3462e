from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    name = "shouwang.patrol"
    label = "patrol"
    verbose_name = _("Video patrol")

    def ready(self) -> None:
        from shouwang.core import demo
        from shouwang.patrol import demo as patrol_demo
        from shouwang.patrol import perms

        perms.grant()
        # Checkpoints at the demo's compounds, after the passes part.
        demo.register("patrol", patrol_demo.demo_part, order=40)
