from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """The split-tender engine: payments, tenders, refunds, Stripe and settlement."""

    name = "payments"
