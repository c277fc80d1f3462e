from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from shouwang.masks import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("masks/", views.open_rounds, name="masks-open"),
    path("masks/<int:pk>/", views.reserve, name="masks-reserve"),
    path("masks/r/<str:token>/", views.reservation, name="masks-reservation"),
    path("masks/r/<str:token>/cancel/", views.cancel, name="masks-cancel"),
    path("masks/rounds/", views.round_list, name="masks-rounds"),
    path("masks/points/<int:pk>/", views.hand_out, name="masks-hand-out"),
]
