from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    """Tenancy and access: merchants, their stores and tills, and the API keys that reach them."""

    name = "merchants"

    def ready(self) -> None:
        from merchants import schema  # noqa: F401  (registers the OpenAPI security scheme)
