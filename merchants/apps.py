from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MerchantsConfig(AppConfig):
    """Tenancy and access: merchants, their stores and tills, and the API keys that reach them."""

    name = "merchants"

    verbose_name = _("Merchants")

    def ready(self) -> None:
        from merchants import schema  # noqa: F401  (registers the OpenAPI security scheme)
