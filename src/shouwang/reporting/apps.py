from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "shouwang.reporting"
    label = "reporting"
    verbose_name = _("Organisations reporting in")

    def ready(self) -> None:
        from shouwang.core import nav

        nav.register_link(
            "reporting",
            100,
            nav.Choice(
                "reporting.view_organisation", "reporting-organisations", _("Organisations")
            ),
        )
        # The app's alert kinds are found by the alerts app (alert_kinds.py).
        from shouwang.core import demo, home
        from shouwang.reporting import demo as reporting_demo
        from shouwang.reporting import perms
        from shouwang.reporting.views import home_section

        perms.grant()
        demo.register("reporting", reporting_demo.demo_part, order=40)
        home.register_section("reporting", "reporting/_home.html", home_section, 20)
