from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from shouwang.passes import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("passes/", views.pass_list, name="pass-list"),
    path("passes/bulk/", views.issue_bulk, name="pass-bulk"),
    path("passes/issue/<int:person_pk>/", views.issue_one, name="pass-issue"),
    path("passes/print/", views.pass_print_bulk, name="pass-print-bulk"),
    path("passes/<int:pk>/", views.pass_detail, name="pass-detail"),
    path("passes/<int:pk>/print/", views.pass_print, name="pass-print"),
    path("passes/<int:pk>/status/", views.pass_status, name="pass-status"),
    path("passes/<int:pk>/new-link/", views.pass_new_link, name="pass-new-link"),
    path("p/<str:token>/", views.resident, name="pass-resident"),
    path("p/<str:token>/code", views.resident_code, name="pass-resident-code"),
    path("gate/", views.gate, name="gate"),
    path("gate/log/", views.access_log, name="gate-log"),
    path("gate/visitors/", views.visitor_list, name="gate-visitors"),
    path("gate/visitors/<int:pk>/approve/", views.visitor_approve, name="visitor-approve"),
]
