"""Kassa's URLs plus the R2 reference endpoint (mounted only by `bench.settings`)."""

from django.urls import path

from bench.reference.views import ReferenceCheckoutView
from config.urls import handler404, handler500
from config.urls import urlpatterns as kassa_urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]

urlpatterns = [
    path("bench/reference/checkout", ReferenceCheckoutView.as_view(), name="bench-reference"),
    *kassa_urlpatterns,
]
