from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from shouwang.reporting import application_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("reporting/", views.organisation_list, name="reporting-organisations"),
    path("reporting/rates.json", views.rates_json, name="reporting-rates"),
    path("reporting/new/", views.organisation_new, name="reporting-organisation-new"),
    path("reporting/<int:pk>/", views.organisation_detail, name="reporting-organisation"),
    path("reporting/<int:pk>/members/", views.member_list, name="reporting-members"),
    path("reporting/<int:pk>/import/", views.member_import, name="reporting-import"),
    path("reporting/<int:pk>/declare/", views.declare_grid, name="reporting-declare"),
    path("reporting/members/<int:pk>/", views.member_detail, name="reporting-member"),
    path(
        "reporting/<int:pk>/applications/",
        application_views.organisation_applications,
        name="reporting-applications",
    ),
    path(
        "reporting/applications/<int:pk>/",
        application_views.application_detail,
        name="reporting-application",
    ),
    path(
        "reporting/applications/<int:pk>/materials/<int:material_pk>/",
        application_views.material,
        name="reporting-material",
    ),
    path("reporting/review/", application_views.review_queue, name="reporting-review"),
    # The member's own declaration: no account, the token is the credential.
    path("r/<str:token>/", views.member_link, name="reporting-member-link"),
]
