from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """The identity graph: one customer across every channel, with consent and GDPR rights."""

    name = "customers"

    def ready(self) -> None:
        from customers.privacy import handler  # noqa: F401  (registers its customer-data handler)
