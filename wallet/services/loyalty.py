"""Loyalty points: earn on captured spend, burn as a payment (hold/post/void), reverse on
refund, expire in lots. Every movement is a ledger transfer in the programme's points unit.

Lots and expiry: each credit of points (earn, refunded burn, positive adjustment) writes a
`LoyaltyLot` with its expiry; an earn reversal writes a negative lot with the earn's expiry.
Debits (burns, expiries, negative adjustments) consume the soonest-expiring points first, so
the points left in lots that have expired are

    (points of lots expired by now) - (debits posted or held, earn reversals excepted)

and `loyalty_points_expire` moves that many, never more than is available, to breakage.
Points still held by a pending burn are not expired; if the hold is voided they come back and
the next run expires them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from moneyed import Money

from config.limits import MAX_POINTS
from customers.lock_objects import customers_lock_survivors
from customers.models import Customer
from merchants.models import Merchant
from wallet.errors import (
    AmountExceedsReversible,
    InvalidPoints,
    InvalidRate,
    LoyaltyAccountClosed,
    PointsTooLarge,
    WrongInstrument,
)
from wallet.ledger import check_amount
from wallet.lock_objects import lock_ledger_accounts
from wallet.models import LedgerAccount, LoyaltyAccount, LoyaltyLot, LoyaltyProgramme, Transfer
from wallet.pricing import points_earned
from wallet.services.common import check_currency, check_customer_of, money_amount
from wallet.system_accounts import instrument_account_open, system_account
from wallet.transfers import (
    ledger_adjust,
    reversed_amount,
    reversible_transfer,
    transfer_create,
    transfer_hold,
    transfer_post,
    transfer_reverse,
    transfer_void,
)


@dataclass(frozen=True)
class EarnReversal:
    """What a refund took back. Points the customer already spent are not clawed back (a
    balance never goes below zero): they are reported as `points_unrecovered`."""

    transfer: Transfer | None
    points_reversed: int
    points_unrecovered: int


def _check_points(points: int, field: str = "points") -> int:
    """Whole points of at most MAX_POINTS either way, so any accepted value fits the ledger."""
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidPoints(field=field)
    if abs(points) > MAX_POINTS:
        raise PointsTooLarge(field=field)
    return points


def _points(points: int, unit: str, field: str = "points") -> Decimal:
    return check_amount(Decimal(_check_points(points, field)), unit, field=field)


def _lock_account(account: LoyaltyAccount) -> tuple[LoyaltyAccount, LedgerAccount]:
    ledger = lock_ledger_accounts([account.account_id])[account.account_id]
    loyalty = LoyaltyAccount.objects.select_related("programme").get(pk=account.pk)
    loyalty.account = ledger
    return loyalty, ledger


def _loyalty_of(ledger_account_id: int) -> LoyaltyAccount:
    try:
        return LoyaltyAccount.objects.select_related("programme").get(account_id=ledger_account_id)
    except LoyaltyAccount.DoesNotExist as error:
        raise WrongInstrument(field="transfer") from error


def _system(programme: LoyaltyProgramme, kind: str) -> LedgerAccount:
    return system_account(merchant_id=programme.merchant_id, kind=kind, unit=programme.unit)


def _lot_expiry(programme: LoyaltyProgramme, at: datetime) -> datetime | None:
    if programme.points_validity_days is None:
        return None
    return at + timedelta(days=programme.points_validity_days)


@transaction.atomic
def loyalty_programme_create(
    *,
    merchant: Merchant,
    name: str,
    currency: str,
    earn_rate: Decimal,
    point_value: Decimal,
    points_validity_days: int | None = None,
) -> LoyaltyProgramme:
    check_currency(currency)
    if earn_rate < 0 or point_value <= 0:
        raise InvalidRate()
    return LoyaltyProgramme.objects.create(
        merchant=merchant,
        name=name,
        currency=currency,
        earn_rate=earn_rate,
        point_value=point_value,
        points_validity_days=points_validity_days,
    )


@transaction.atomic
def loyalty_account_open(*, programme: LoyaltyProgramme, customer: Customer) -> LoyaltyAccount:
    """Open an account for the customer's merge survivor, locked first, so a merge committing
    meanwhile cannot leave the account on a tombstone."""
    check_customer_of(customer, programme.merchant_id)
    customer = customers_lock_survivors(customer_ids=[customer.pk])[customer.pk]
    ledger = instrument_account_open(
        merchant_id=programme.merchant_id,
        kind=LedgerAccount.Kind.LOYALTY,
        unit=programme.unit,
        name=f"{programme.name} points of customer {customer.public_id}",
    )
    return LoyaltyAccount.objects.create(programme=programme, customer=customer, account=ledger)


@transaction.atomic
def loyalty_account_close(*, account: LoyaltyAccount) -> LoyaltyAccount:
    """No more earning or burning; the points stay (and expire) in the ledger."""
    loyalty, _ = _lock_account(account)
    if loyalty.closed_at is None:
        loyalty.closed_at = timezone.now()
        loyalty.save(update_fields=["closed_at"])
    return loyalty


def _credit_with_lot(
    *,
    loyalty: LoyaltyAccount,
    debit: LedgerAccount,
    points: Decimal,
    code: str,
    reference: str,
    reason: str = "",
    actor: str,
) -> Transfer:
    transfer = transfer_create(
        debit=debit,
        credit=loyalty.account,
        amount=points,
        unit=loyalty.programme.unit,
        code=code,
        reference=reference,
        reason=reason,
        actor=actor,
    )
    LoyaltyLot.objects.create(
        account=loyalty,
        transfer=transfer,
        points=int(points),
        expires_at=_lot_expiry(loyalty.programme, timezone.now()),
    )
    return transfer


@transaction.atomic
def loyalty_earn(
    *, account: LoyaltyAccount, spend: Money, reference: str, actor: str
) -> Transfer | None:
    """Credit the points `spend` earns (points expense -> account), as a new lot. Call on
    capture. None when the spend earns no whole point."""
    loyalty, _ = _lock_account(account)
    if loyalty.closed_at is not None:
        raise LoyaltyAccountClosed(field="loyalty_account")
    programme = loyalty.programme
    money_amount(spend, currency=programme.currency, field="spend")
    points = points_earned(spend=spend, earn_rate=programme.earn_rate)
    if points == 0:
        return None
    return _credit_with_lot(
        loyalty=loyalty,
        debit=_system(programme, LedgerAccount.Kind.POINTS_EXPENSE),
        points=Decimal(points),
        code=Transfer.Code.EARN,
        reference=reference,
        actor=actor,
    )


@transaction.atomic
def loyalty_earn_reverse(
    *, earn: Transfer, points: int, reference: str, reason: str = "refund", actor: str
) -> EarnReversal:
    """Take back up to `points` of an earn (on refund; see `pricing.points_to_reverse` for the
    proportional share). Takes only what is available; the rest is reported, not clawed back."""
    if earn.code != Transfer.Code.EARN or earn.kind != Transfer.Kind.POSTED:
        raise WrongInstrument("Not a points earn.", field="earn")
    loyalty = _loyalty_of(earn.credit_account_id)
    loyalty, ledger = _lock_account(loyalty)
    requested = int(_points(points, earn.unit))
    remaining = int(earn.amount - reversed_amount(earn))
    if requested > remaining:
        raise AmountExceedsReversible(
            field="points", meta={"reversible": {"points": str(remaining), "unit": earn.unit}}
        )
    taken = min(requested, int(ledger.available))
    if taken == 0:
        return EarnReversal(transfer=None, points_reversed=0, points_unrecovered=requested)
    reversal = transfer_reverse(
        transfer=earn,
        amount=Decimal(taken),
        reference=reference,
        reason=reason,
        code=Transfer.Code.EARN_REVERSAL,
        actor=actor,
    )
    earn_lot = LoyaltyLot.objects.get(transfer=earn)
    LoyaltyLot.objects.create(
        account=loyalty, transfer=reversal, points=-taken, expires_at=earn_lot.expires_at
    )
    return EarnReversal(
        transfer=reversal, points_reversed=taken, points_unrecovered=requested - taken
    )


@transaction.atomic
def loyalty_points_hold(
    *,
    account: LoyaltyAccount,
    points: int,
    reference: str,
    expires_at: datetime | None,
    actor: str,
) -> Transfer:
    """Hold points to pay with (account -> redemption clearing, pending). What they pay is
    `pricing.points_to_money`; the points needed for an amount, `pricing.money_to_points`."""
    ledger, clearing, amount, unit = _burn_accounts(account, points)
    return transfer_hold(
        debit=ledger,
        credit=clearing,
        amount=amount,
        unit=unit,
        reference=reference,
        expires_at=expires_at,
        code=Transfer.Code.BURN,
        actor=actor,
    )


def _burn_accounts(
    account: LoyaltyAccount, points: int
) -> tuple[LedgerAccount, LedgerAccount, Decimal, str]:
    """Lock an open account for burning `points`: (account, clearing, amount, unit)."""
    loyalty, ledger = _lock_account(account)
    if loyalty.closed_at is not None:
        raise LoyaltyAccountClosed(field="loyalty_account")
    programme = loyalty.programme
    clearing = _system(programme, LedgerAccount.Kind.REDEMPTION_CLEARING)
    return ledger, clearing, _points(points, programme.unit), programme.unit


def _burn(transfer: Transfer) -> Transfer:
    if transfer.code != Transfer.Code.BURN:
        raise WrongInstrument("Not a points burn.", field="transfer")
    return transfer


def loyalty_points_post(*, transfer: Transfer, points: int | None = None, actor: str) -> Transfer:
    hold = _burn(transfer)
    amount = None if points is None else _points(points, hold.unit)
    return transfer_post(transfer=hold, amount=amount, actor=actor)


def loyalty_points_void(*, transfer: Transfer, reason: str, actor: str) -> Transfer:
    return transfer_void(transfer=_burn(transfer), reason=reason, actor=actor)


@transaction.atomic
def loyalty_points_refund(
    *, transfer: Transfer, points: int | None, reference: str, reason: str, actor: str
) -> Transfer:
    """Return (part of) a captured burn to the account, as a new lot with fresh validity."""
    posted = reversible_transfer(_burn(transfer))
    loyalty, _ = _lock_account(_loyalty_of(posted.debit_account_id))
    reversal = transfer_reverse(
        transfer=posted,
        amount=None if points is None else _points(points, posted.unit),
        reference=reference,
        reason=reason,
        code=Transfer.Code.REFUND,
        actor=actor,
    )
    LoyaltyLot.objects.create(
        account=loyalty,
        transfer=reversal,
        points=int(reversal.amount),
        expires_at=_lot_expiry(loyalty.programme, timezone.now()),
    )
    return reversal


@transaction.atomic
def loyalty_points_adjust(
    *, account: LoyaltyAccount, points: int, reason: str, actor: str
) -> Transfer:
    """A manual correction; added points form a lot, removed ones consume the oldest."""
    _check_points(points)
    loyalty, ledger = _lock_account(account)
    transfer = ledger_adjust(account=ledger, amount=Decimal(points), reason=reason, actor=actor)
    if points > 0:
        LoyaltyLot.objects.create(
            account=loyalty,
            transfer=transfer,
            points=points,
            expires_at=_lot_expiry(loyalty.programme, timezone.now()),
        )
    return transfer


def loyalty_points_due_to_expire(
    *, loyalty: LoyaltyAccount, ledger: LedgerAccount, at: datetime
) -> int:
    lots = loyalty.lots.all()
    expired = lots.filter(expires_at__lte=at).aggregate(total=Sum("points", default=0))["total"]
    reversed_by_lots = -lots.filter(points__lt=0).aggregate(total=Sum("points", default=0))["total"]
    consumed = ledger.debits_posted + ledger.debits_pending - reversed_by_lots
    return max(0, min(int(ledger.available), int(expired - consumed)))


@transaction.atomic
def loyalty_points_expire(
    *, account: LoyaltyAccount, at: datetime | None = None, actor: str
) -> Transfer | None:
    """Move the points left in expired lots to breakage (account -> breakage)."""
    at = at or timezone.now()
    loyalty, ledger = _lock_account(account)
    due = loyalty_points_due_to_expire(loyalty=loyalty, ledger=ledger, at=at)
    if due == 0:
        return None
    return transfer_create(
        debit=ledger,
        credit=_system(loyalty.programme, LedgerAccount.Kind.BREAKAGE),
        amount=Decimal(due),
        unit=loyalty.programme.unit,
        code=Transfer.Code.POINTS_EXPIRY,
        reason="points lots expired",
        actor=actor,
    )
