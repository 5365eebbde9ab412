"""Wallet writes. Each is a typed, keyword-only function in `transaction.atomic` that locks
what it changes (see wallet.lock_objects) and re-checks state under the lock. The ledger
primitives themselves are in wallet.ledger."""

from wallet.services.adjustments import instrument_adjust
from wallet.services.bank_cards import bank_card_attach, bank_card_remove, bank_card_set_default
from wallet.services.expiry import (
    gift_cards_expire_due,
    holds_void_expired,
    loyalty_points_expire_due,
)
from wallet.services.gift_cards import (
    IssuedGiftCard,
    gift_card_activate,
    gift_card_block,
    gift_card_claim,
    gift_card_expire,
    gift_card_hold,
    gift_card_issue,
    gift_card_post,
    gift_card_refund,
    gift_card_reload,
    gift_card_unblock,
    gift_card_void,
)
from wallet.services.loyalty import (
    EarnReversal,
    loyalty_account_close,
    loyalty_account_open,
    loyalty_earn,
    loyalty_earn_reverse,
    loyalty_points_adjust,
    loyalty_points_expire,
    loyalty_points_hold,
    loyalty_points_post,
    loyalty_points_refund,
    loyalty_points_void,
    loyalty_programme_create,
)
from wallet.services.vouchers import (
    IssuedVoucher,
    voucher_disable,
    voucher_issue,
    voucher_redemption_consume,
    voucher_redemption_reinstate,
    voucher_redemption_release,
    voucher_reserve,
)

__all__ = [
    "EarnReversal",
    "IssuedGiftCard",
    "IssuedVoucher",
    "bank_card_attach",
    "bank_card_remove",
    "bank_card_set_default",
    "gift_card_activate",
    "gift_card_block",
    "gift_card_claim",
    "gift_card_expire",
    "gift_card_hold",
    "gift_card_issue",
    "gift_card_post",
    "gift_card_refund",
    "gift_card_reload",
    "gift_card_unblock",
    "gift_card_void",
    "gift_cards_expire_due",
    "holds_void_expired",
    "instrument_adjust",
    "loyalty_account_close",
    "loyalty_account_open",
    "loyalty_earn",
    "loyalty_earn_reverse",
    "loyalty_points_adjust",
    "loyalty_points_expire",
    "loyalty_points_expire_due",
    "loyalty_points_hold",
    "loyalty_points_post",
    "loyalty_points_refund",
    "loyalty_points_void",
    "loyalty_programme_create",
    "voucher_disable",
    "voucher_issue",
    "voucher_redemption_consume",
    "voucher_redemption_reinstate",
    "voucher_redemption_release",
    "voucher_reserve",
]
