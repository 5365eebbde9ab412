from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    """Stored value and saved cards, every movement a double-entry ledger transfer."""

    name = "wallet"

    verbose_name = _("Wallet")

    def ready(self) -> None:
        from wallet import privacy  # noqa: F401  (registers its customer-data handler)
