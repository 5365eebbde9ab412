from django.urls import path

from payments.api import views

urlpatterns = [
    path("payments", views.PaymentCollectionView.as_view(), name="payments"),
    path("payments/<uuid:payment_id>", views.PaymentDetailView.as_view(), name="payment-detail"),
    path(
        "payments/<uuid:payment_id>/capture",
        views.PaymentCaptureView.as_view(),
        name="payment-capture",
    ),
    path(
        "payments/<uuid:payment_id>/confirm",
        views.PaymentConfirmView.as_view(),
        name="payment-confirm",
    ),
    path("payments/<uuid:payment_id>/void", views.PaymentVoidView.as_view(), name="payment-void"),
    path(
        "payments/<uuid:payment_id>/refunds",
        views.RefundCreateView.as_view(),
        name="payment-refunds",
    ),
    path(
        "customers/<uuid:public_id>/purchases",
        views.CustomerPurchasesView.as_view(),
        name="customer-purchases",
    ),
    path("stripe/webhook", views.StripeWebhookView.as_view(), name="stripe-webhook"),
]
