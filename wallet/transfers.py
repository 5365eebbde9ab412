"""Single transfers (posted, hold, post, void, reversal, adjustment) and hold expiry: each one
`wallet.ledger.ledger_write` of one move, with the checks that transfer kind needs."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet, Sum

from wallet.errors import (
    AmountExceedsReversible,
    CurrencyMismatch,
    NotReversible,
    ReasonRequired,
    SystemAccount,
    amount_meta,
)
from wallet.ledger import Kind, Move, check_amount, holds_resolve, ledger_write
from wallet.lock_objects import lock_ledger_accounts, lock_transfer
from wallet.models import LedgerAccount, Transfer
from wallet.system_accounts import system_account


def _one(**kwargs: object) -> Transfer:
    return ledger_write([Move(**kwargs)])[0]  # type: ignore[arg-type]


@transaction.atomic
def transfer_create(
    *,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: Decimal,
    unit: str,
    code: str,
    reference: str = "",
    reason: str = "",
    actor: str,
) -> Transfer:
    """A single-phase, posted transfer (issue, reload, earn, expiry, adjustment...)."""
    _check_unit(debit, unit)
    return _one(
        kind=Kind.POSTED,
        debit=debit,
        credit=credit,
        amount=amount,
        code=code,
        reference=reference,
        reason=reason,
        actor=actor,
    )


def _check_unit(debit: LedgerAccount, unit: str) -> None:
    if debit.unit != unit:
        raise CurrencyMismatch(
            f"{debit} is kept in {debit.unit}, not {unit}.",
            meta={"expected": debit.unit, "given": unit},
        )


@transaction.atomic
def transfer_hold(
    *,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: Decimal,
    unit: str,
    reference: str,
    expires_at: datetime | None,
    code: str = Transfer.Code.REDEMPTION,
    actor: str,
) -> Transfer:
    """A pending transfer: lowers the debit account's available balance until it is posted,
    voided, or (after `expires_at`, None = never) voided by the expiry task."""
    _check_unit(debit, unit)
    return _one(
        kind=Kind.PENDING,
        debit=debit,
        credit=credit,
        amount=amount,
        code=code,
        reference=reference,
        actor=actor,
        expires_at=expires_at,
    )


@transaction.atomic
def transfer_post(*, transfer: Transfer, amount: Decimal | None = None, actor: str) -> Transfer:
    """Post a hold for `amount` (default: all of it) and release the rest; returns the
    `post_pending` transfer. An expired hold can no longer be posted (`hold_expired`)."""
    if amount is not None:
        check_amount(amount, transfer.unit)
    return holds_resolve([(transfer, transfer.amount if amount is None else amount)], actor=actor)[
        0
    ]


@transaction.atomic
def transfer_void(*, transfer: Transfer, reason: str, actor: str) -> Transfer:
    """Release a hold entirely; returns the `void_pending` transfer."""
    if not reason.strip():
        raise ReasonRequired(field="reason")
    return holds_resolve([(transfer, None)], actor=actor, reason=reason)[0]


def reversible_transfer(transfer: Transfer) -> Transfer:
    """The posted transfer behind `transfer` (a hold is reversed through its posting)."""
    if transfer.kind == Kind.PENDING:
        resolution = Transfer.objects.filter(pending_id=transfer.pk).first()
        if resolution is None or resolution.kind != Kind.POST_PENDING:
            raise NotReversible("The hold was never posted.")
        transfer = resolution
    if transfer.kind not in (Kind.POSTED, Kind.POST_PENDING):
        raise NotReversible()
    if transfer.reverses_id is not None:
        raise NotReversible("A reversal cannot itself be reversed.")
    return transfer


def reversed_amount(transfer: Transfer) -> Decimal:
    total: Decimal = transfer.reversals.aggregate(total=Sum("amount", default=Decimal(0)))["total"]
    return total


@transaction.atomic
def transfer_reverse(
    *,
    transfer: Transfer,
    amount: Decimal | None = None,
    reference: str,
    reason: str,
    code: str = Transfer.Code.REFUND,
    actor: str,
) -> Transfer:
    """Reverse (part of) a posted transfer with a new, opposite transfer (e.g. a refund onto a
    gift card). The reversals of one transfer never add up to more than it moved."""
    if not reason.strip():
        raise ReasonRequired(field="reason")
    original = reversible_transfer(transfer)
    locked = lock_ledger_accounts([original.credit_account_id, original.debit_account_id])
    original = lock_transfer(original.pk)
    remaining = original.amount - reversed_amount(original)
    amount = remaining if amount is None else check_amount(amount, original.unit)
    if amount <= 0 or amount > remaining:
        raise AmountExceedsReversible(
            field="amount", meta={"reversible": amount_meta(remaining, original.unit)}
        )
    return _one(
        kind=Kind.POSTED,
        debit=locked[original.credit_account_id],
        credit=locked[original.debit_account_id],
        amount=amount,
        code=code,
        reference=reference,
        reason=reason,
        actor=actor,
        reverses=original,
    )


@transaction.atomic
def ledger_adjust(
    *, account: LedgerAccount, amount: Decimal, reason: str, actor: str, reference: str = ""
) -> Transfer:
    """A manual correction of an instrument account against the merchant's adjustments account:
    a positive `amount` credits the instrument, a negative one debits it (never below zero)."""
    if not reason.strip():
        raise ReasonRequired(field="reason")
    if account.is_system:
        raise SystemAccount()
    adjustments = system_account(
        merchant_id=account.merchant_id, kind=LedgerAccount.Kind.ADJUSTMENTS, unit=account.unit
    )
    magnitude = check_amount(abs(amount), account.unit)
    debit, credit = (adjustments, account) if amount > 0 else (account, adjustments)
    return transfer_create(
        debit=debit,
        credit=credit,
        amount=magnitude,
        unit=account.unit,
        code=Transfer.Code.ADJUSTMENT,
        reference=reference,
        reason=reason,
        actor=actor,
    )


def holds_expired(*, at: datetime) -> QuerySet[Transfer]:
    """Holds past their time-out that nothing has posted or voided yet."""
    return Transfer.objects.filter(
        kind=Kind.PENDING, expires_at__lte=at, resolution__isnull=True
    ).order_by("expires_at", "pk")
