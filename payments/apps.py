from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """The split-tender engine: payments, tenders, refunds, Stripe and settlement."""

    name = "payments"

    verbose_name = _("Payments")

    def ready(self) -> None:
        from payments import privacy  # noqa: F401  (registers its customer-data handler)
