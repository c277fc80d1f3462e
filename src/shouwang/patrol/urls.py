from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from shouwang.patrol import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("patrol/", views.checkpoint_list, name="patrol-home"),
    path("patrol/checkpoints/<int:pk>/", views.checkpoint_detail, name="patrol-checkpoint"),
    path("patrol/cameras/<int:pk>/", views.camera_detail, name="patrol-camera"),
    path("patrol/cameras/<int:pk>/fetch/", views.camera_fetch, name="patrol-camera-fetch"),
    path("patrol/cameras/<int:pk>/upload/", views.camera_upload, name="patrol-camera-upload"),
    path("patrol/snapshots/<int:pk>/image", views.snapshot_image, name="patrol-snapshot"),
]
