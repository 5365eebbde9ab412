from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """The split-tender engine: payments, tenders, refunds, Stripe and settlement."""

    name = "payments"

    def ready(self) -> None:
        from payments import privacy  # noqa: F401  (registers its customer-data handler)
