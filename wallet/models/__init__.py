"""Wallet models: the double-entry ledger and the instruments whose value lives in it."""

from wallet.models.bank_cards import BankCard, StripeCustomer
from wallet.models.gift_cards import GiftCard
from wallet.models.guessing import CodeAttemptWindow
from wallet.models.ledger import Entry, LedgerAccount, Transfer
from wallet.models.liability import LiabilitySnapshot
from wallet.models.loyalty import LoyaltyAccount, LoyaltyLot, LoyaltyProgramme
from wallet.models.vouchers import Channel, Voucher, VoucherRedemption

__all__ = [
    "BankCard",
    "Channel",
    "CodeAttemptWindow",
    "Entry",
    "GiftCard",
    "LedgerAccount",
    "LiabilitySnapshot",
    "LoyaltyAccount",
    "LoyaltyLot",
    "LoyaltyProgramme",
    "StripeCustomer",
    "Transfer",
    "Voucher",
    "VoucherRedemption",
]
