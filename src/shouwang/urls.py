from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django.views.i18n import set_language

from shouwang.alerts import views as alert_views
from shouwang.api import api
from shouwang.core import views
from shouwang.devices import views as device_views

admin.autodiscover()
admin.site.site_header = _("Shouwang administration")
admin.site.site_title = _("Shouwang")

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="core/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Browsers and the admin ask for /favicon.ico whatever a page links: the app's own icon.
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("core/favicon.svg"), permanent=True)),
    ),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("areas/", views.area_tree, name="area-tree"),
    path("areas/<int:pk>/", views.area_detail, name="area-detail"),
    path("households/", views.household_list, name="household-list"),
    path("households/<int:pk>/", views.household_detail, name="household-detail"),
    path("people/", views.person_list, name="person-list"),
    path("people/<int:pk>/", views.person_detail, name="person-detail"),
    path("people/<int:pk>/edit/", views.person_edit, name="person-edit"),
    path("households/<int:household_pk>/add-resident/", views.person_add, name="person-add"),
    path("people/import/", views.roster_import, name="roster-import"),
    path("people/import/template.csv", views.roster_template, name="roster-template"),
    path("people/import/<uuid:token>/", views.roster_upload, name="roster-upload"),
    path(
        "people/import/<uuid:token>/confirm/",
        views.roster_upload_confirm,
        name="roster-upload-confirm",
    ),
    path(
        "people/import/<uuid:token>/cancel/",
        views.roster_upload_cancel,
        name="roster-upload-cancel",
    ),
    path("people/export/", views.person_export, name="person-export"),
    path("devices/", device_views.device_list, name="device-list"),
    path("devices/install/", device_views.install, name="device-install"),
    path("devices/recover/", device_views.recover, name="device-recover"),
    path("devices/unclaimed/", device_views.unclaimed, name="device-unclaimed"),
    path("devices/dead-letters/", device_views.dead_letters, name="device-dead-letters"),
    path("devices/dead-letters/<int:pk>/", device_views.dead_letter, name="device-dead-letter"),
    path("devices/health/", device_views.ingest_health, name="device-ingest-health"),
    path("devices/<int:pk>/", device_views.device_detail, name="device-detail"),
    path("devices/<int:pk>/claim/", device_views.device_claim, name="device-claim"),
    path("devices/<int:pk>/<slug:action>/", device_views.device_action, name="device-action"),
    path("alerts/", alert_views.console, name="alert-console"),
    path("alerts/stream", alert_views.stream, name="alert-stream"),
    path("alerts/board/", alert_views.board, name="alert-board"),
    path("alerts/stats/", alert_views.stats_page, name="alert-stats"),
    path("alerts/stats/export/", alert_views.stats_export, name="alert-stats-export"),
    path("alerts/<int:pk>/", alert_views.detail, name="alert-detail"),
    path("alerts/<int:pk>/acknowledge/", alert_views.acknowledge, name="alert-acknowledge"),
    path("alerts/<int:pk>/resolve/", alert_views.resolve, name="alert-resolve"),
    path("alerts/<int:pk>/comment/", alert_views.comment, name="alert-comment"),
    path("alerts/<int:pk>/assign/", alert_views.assign, name="alert-assign"),
    path("alerts/<int:pk>/call/", alert_views.call, name="alert-call"),
    path("alerts/<int:pk>/dispatch/", alert_views.dispatch_to_door, name="alert-dispatch"),
    path("alerts/<int:pk>/arrive/", alert_views.arrive, name="alert-arrive"),
    path(
        "alerts/households/<int:household_pk>/expected-opening/",
        alert_views.suppress,
        name="alert-suppress",
    ),
    path("", include("shouwang.quarantine.urls")),
    path("", include("shouwang.passes.urls")),
    path("", include("shouwang.patrol.urls")),
    path("", include("shouwang.reporting.urls")),
    path("", include("shouwang.masks.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
