"""Wallet API: one view per operation, thin over selectors and services.

Scopes: issuing and reloading gift cards, issuing vouchers, and changing a card's status take a
merchant (web shop) or staff (back office) key. Issuing and reloading (the POSTs that create
value) need an Idempotency-Key, through the one mechanism every API uses
(merchants.idempotency.idempotent). Tills (terminal keys) may check a balance by
code, claim a card into the wallet of a customer they identified, validate a voucher, and read
the wallets of customers they identified. Saving and removing bank cards is for merchant and
staff keys (a card is saved from the web shop, through Stripe.js).

One module per area; the views are re-exported here for `wallet.api.urls`.
"""

from wallet.api.views.bank_cards import BankCardDefaultView, BankCardsView, BankCardView
from wallet.api.views.common import IDEMPOTENCY_KEY, ISSUERS, LOCKED, CodeIssueView, WalletView
from wallet.api.views.customers import (
    CustomerWalletView,
    HistoryPagination,
    LoyaltyAccountsView,
    LoyaltyHistoryView,
)
from wallet.api.views.gift_cards import (
    GiftCardActivateView,
    GiftCardBalanceView,
    GiftCardBlockView,
    GiftCardClaimView,
    GiftCardDetailView,
    GiftCardIssueView,
    GiftCardReloadView,
    GiftCardUnblockView,
)
from wallet.api.views.vouchers import VoucherIssueView, VoucherValidateView

__all__ = [
    "IDEMPOTENCY_KEY",
    "ISSUERS",
    "LOCKED",
    "BankCardDefaultView",
    "BankCardView",
    "BankCardsView",
    "CodeIssueView",
    "CustomerWalletView",
    "GiftCardActivateView",
    "GiftCardBalanceView",
    "GiftCardBlockView",
    "GiftCardClaimView",
    "GiftCardDetailView",
    "GiftCardIssueView",
    "GiftCardReloadView",
    "GiftCardUnblockView",
    "HistoryPagination",
    "LoyaltyAccountsView",
    "LoyaltyHistoryView",
    "VoucherIssueView",
    "VoucherValidateView",
    "WalletView",
]
