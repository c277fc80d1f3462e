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
    path("patrol/rounds/", views.round_list, name="patrol-rounds"),
    path("patrol/rounds/open/", views.round_open, name="patrol-round-open"),
    path("patrol/plans/new/", views.plan_new, name="patrol-plan-new"),
    path("patrol/rounds/<int:pk>/", views.round_detail, name="patrol-round"),
    path("patrol/rounds/<int:pk>/stops/<int:stop_pk>/ok/", views.stop_ok, name="patrol-stop-ok"),
    path(
        "patrol/rounds/<int:pk>/stops/<int:stop_pk>/finding/",
        views.stop_finding,
        name="patrol-stop-finding",
    ),
    path("patrol/orders/", views.order_list, name="patrol-orders"),
    path("patrol/orders/<int:pk>/", views.order_detail, name="patrol-order"),
    path("patrol/orders/<int:pk>/answer/", views.order_answer, name="patrol-order-answer"),
    path("patrol/orders/<int:pk>/recheck/", views.order_recheck, name="patrol-order-recheck"),
    path("patrol/orders/<int:pk>/close/", views.order_close, name="patrol-order-close"),
    path("patrol/orders/<int:pk>/send-back/", views.order_send_back, name="patrol-order-return"),
    path("patrol/orders/<int:pk>/<slug:which>.img", views.order_image, name="patrol-order-image"),
    path("patrol/scores/", views.score_card, name="patrol-scores"),
    path("patrol/scores/export.xlsx", views.score_export, name="patrol-scores-export"),
    path("patrol/scores/card.png", views.score_image, name="patrol-scores-image"),
    path("patrol/inspections/", views.inspection_list, name="patrol-inspections"),
    path(
        "patrol/inspections/coverage/",
        views.inspection_coverage,
        name="patrol-inspection-coverage",
    ),
    path("patrol/inspections/<int:pk>/", views.inspection_detail, name="patrol-inspection"),
]
