"""Back office for the wallet: every instrument with read-only balances, the ledger (accounts,
transfers, entries) as a read-only view, and manual adjustments only through
`services.instrument_adjust`, with a mandatory reason and the staff user recorded as actor.

The pages live in one module per area; importing them here registers them with the admin site.
"""

from wallet.admin.instruments import BankCardAdmin, GiftCardAdmin, InstrumentAdmin
from wallet.admin.ledger import AdjustmentForm, EntryInline, LedgerAccountAdmin, TransferAdmin
from wallet.admin.liability import LiabilitySnapshotAdmin
from wallet.admin.loyalty import LoyaltyAccountAdmin, LoyaltyLotInline, LoyaltyProgrammeAdmin
from wallet.admin.vouchers import VoucherAdmin, VoucherRedemptionInline

__all__ = [
    "AdjustmentForm",
    "BankCardAdmin",
    "EntryInline",
    "GiftCardAdmin",
    "InstrumentAdmin",
    "LedgerAccountAdmin",
    "LiabilitySnapshotAdmin",
    "LoyaltyAccountAdmin",
    "LoyaltyLotInline",
    "LoyaltyProgrammeAdmin",
    "TransferAdmin",
    "VoucherAdmin",
    "VoucherRedemptionInline",
]
