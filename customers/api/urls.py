from django.urls import URLPattern, URLResolver, path

from customers.api import privacy_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("customers/identify", views.IdentifyView.as_view(), name="customers-identify"),
    path("customers/merges", views.MergeView.as_view(), name="customers-merge"),
    path(
        "customers/merges/<uuid:merge_id>/unmerge",
        views.UnmergeView.as_view(),
        name="customers-unmerge",
    ),
    path(
        "customers/<uuid:public_id>", views.CustomerProfileView.as_view(), name="customers-profile"
    ),
    path(
        "customers/<uuid:public_id>/presentation-codes",
        views.PresentationCodeSendView.as_view(),
        name="customers-presentation-code-send",
    ),
    path(
        "customers/<uuid:public_id>/presentation-codes/verify",
        views.PresentationCodeVerifyView.as_view(),
        name="customers-presentation-code-verify",
    ),
    path(
        "customers/<uuid:public_id>/consents",
        views.ConsentCurrentView.as_view(),
        name="customers-consents",
    ),
    path(
        "customers/<uuid:public_id>/consent-events",
        views.ConsentRecordView.as_view(),
        name="customers-consent-record",
    ),
    path(
        "customers/<uuid:public_id>/export",
        privacy_views.CustomerExportView.as_view(),
        name="customers-export",
    ),
    path(
        "customers/<uuid:public_id>/erasure",
        privacy_views.CustomerErasureView.as_view(),
        name="customers-erasure",
    ),
]
