from decimal import Decimal

from wallet.errors import AmountTooPrecise
from wallet.models import LedgerAccount, LoyaltyAccount, Transfer
from wallet.services.loyalty import loyalty_points_adjust
from wallet.transfers import ledger_adjust


def instrument_adjust(
    *, account: LedgerAccount, amount: Decimal, reason: str, actor: str
) -> Transfer:
    """The back office's manual correction of an instrument (reason and actor mandatory),
    written to the ledger against the adjustments account; added points form a lot."""
    loyalty = LoyaltyAccount.objects.filter(account=account).first()
    if loyalty is None:
        return ledger_adjust(account=account, amount=amount, reason=reason, actor=actor)
    if amount != amount.to_integral_value():
        raise AmountTooPrecise("Points are whole numbers.", field="amount")
    return loyalty_points_adjust(account=loyalty, points=int(amount), reason=reason, actor=actor)
