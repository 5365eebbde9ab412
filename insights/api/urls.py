from django.urls import URLPattern, URLResolver, path

from insights.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("events", views.EventsView.as_view(), name="insights-events"),
    path("customers/<uuid:public_id>/offers", views.OffersView.as_view(), name="insights-offers"),
    path(
        "customers/<uuid:public_id>/offers/<str:sku>/feedback",
        views.OfferFeedbackView.as_view(),
        name="insights-offer-feedback",
    ),
]
