from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """The identity graph: one customer across every channel, with consent and GDPR rights."""

    name = "customers"
