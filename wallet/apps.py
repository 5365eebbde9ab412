from django.apps import AppConfig


class WalletConfig(AppConfig):
    """Stored value and saved cards, every movement a double-entry ledger transfer."""

    name = "wallet"

    def ready(self) -> None:
        from wallet import privacy  # noqa: F401  (registers its customer-data handler)
