from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from shouwang.quarantine import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("quarantine/", views.today, name="quarantine-today"),
    path("quarantine/cases/", views.case_list, name="quarantine-cases"),
    path("quarantine/cases/export/", views.case_export, name="quarantine-export"),
    path("quarantine/cases/new/", views.choose_household, name="quarantine-choose"),
    path("quarantine/cases/new/<int:household_pk>/", views.case_new, name="quarantine-new"),
    path("quarantine/cases/<int:pk>/", views.case_detail, name="quarantine-case"),
    path("quarantine/cases/<int:pk>/notice/", views.notice, name="quarantine-notice"),
    path(
        "quarantine/cases/<int:pk>/<slug:action>/",
        views.case_action,
        name="quarantine-case-action",
    ),
    path("quarantine/stats/", views.stats, name="quarantine-stats"),
    path("care/", views.care_list, name="care-list"),
    path("care/new/<int:person_pk>/", views.care_new, name="care-new"),
    path("care/<int:pk>/", views.care_detail, name="care-detail"),
    path("care/<int:pk>/<slug:action>/", views.care_action, name="care-action"),
    # The resident's own check-in: no account, the token is the credential.
    path("q/<str:token>/", views.resident_check_in, name="resident-check-in"),
]
