from django.apps import AppConfig


class WalletConfig(AppConfig):
    """Stored value and saved cards, every movement a double-entry ledger transfer."""

    name = "wallet"
