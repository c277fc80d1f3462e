from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from shouwang.api import api
from shouwang.core import views

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
    path("people/export/", views.person_export, name="person-export"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
