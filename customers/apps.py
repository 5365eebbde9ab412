from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    """The identity graph: one customer across every channel, with consent and GDPR rights."""

    name = "customers"

    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers.privacy import handler  # noqa: F401  (registers its customer-data handler)
