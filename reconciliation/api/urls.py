from django.urls import path

from reconciliation.api import views

urlpatterns = [
    path("settlements", views.SettlementCollectionView.as_view(), name="settlements"),
]
