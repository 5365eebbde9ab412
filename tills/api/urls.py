from django.urls import path

from tills.api import views

urlpatterns = [
    path("tills/offline-policy", views.OfflinePolicyView.as_view(), name="till-offline-policy"),
    path(
        "tills/offline-allowance",
        views.AllowanceView.as_view(),
        name="till-offline-allowance",
    ),
    path(
        "tills/offline-allowance/release",
        views.AllowanceReleaseView.as_view(),
        name="till-offline-allowance-release",
    ),
    path("till-sessions", views.SessionCollectionView.as_view(), name="till-sessions"),
    path(
        "till-sessions/<uuid:session_id>",
        views.SessionDetailView.as_view(),
        name="till-session-detail",
    ),
    path(
        "till-sessions/<uuid:session_id>/cash",
        views.CashMoveView.as_view(),
        name="till-session-cash",
    ),
    path(
        "till-sessions/<uuid:session_id>/close",
        views.SessionCloseView.as_view(),
        name="till-session-close",
    ),
]
