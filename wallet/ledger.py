"""Ledger writes and the ledger's self-check. See `wallet.models.ledger` for the model.

Every function here locks the instrument accounts it touches (`lock_ledger_accounts`, pk order)
and re-checks state under the lock, so it is correct whether or not the caller already holds
those locks. Amounts are `Decimal`s in the transfer's unit: positive, and exact in that unit
(no more decimals than the currency allows; whole points).

Entries per transfer (debit account D, credit account C, amount X; a hold of H):
    posted        D posted debit +X    C posted credit +X
    pending       D pending debit +X   C pending credit +X
    post_pending  D pending debit -H   C pending credit -H   D posted debit +X   C posted credit +X
    void_pending  D pending debit -H   C pending credit -H
so in each layer of each transfer the credits equal the debits.
"""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.actors import actor_is_valid
from wallet.errors import (
    AmountExceedsHold,
    AmountExceedsReversible,
    AmountNotPositive,
    AmountTooPrecise,
    CrossMerchantTransfer,
    CurrencyMismatch,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    InvalidActor,
    InvalidAmount,
    NotAHold,
    NotReversible,
    ReasonRequired,
    SameAccount,
    SystemAccount,
    amount_meta,
)
from wallet.lock_objects import lock_ledger_accounts, lock_transfer
from wallet.models import Entry, GiftCard, LedgerAccount, LoyaltyAccount, Transfer
from wallet.units import is_exact_in_unit

COUNTERS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
_DEBIT, _CREDIT = Entry.Side.DEBIT, Entry.Side.CREDIT
_PENDING, _POSTED = Entry.Layer.PENDING, Entry.Layer.POSTED
_EntryRow = tuple[LedgerAccount, str, str, Decimal]


def system_account(*, merchant_id: int, kind: str, unit: str) -> LedgerAccount:
    """The merchant's system account of `kind` in `unit`, created on first use."""
    account, _ = LedgerAccount.objects.get_or_create(
        merchant_id=merchant_id,
        kind=kind,
        unit=unit,
        is_system=True,
        defaults={"name": f"{LedgerAccount.Kind(kind).label} {unit}"},
    )
    return account


def instrument_account_open(*, merchant_id: int, kind: str, unit: str, name: str) -> LedgerAccount:
    return LedgerAccount.objects.create(
        merchant_id=merchant_id, kind=kind, unit=unit, is_system=False, name=name
    )


def check_amount(amount: Decimal, unit: str, *, field: str = "amount") -> Decimal:
    """`amount` if it is a positive Decimal exact in `unit`, else the coded refusal."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount(field=field)
    if amount <= 0:
        raise AmountNotPositive(field=field)
    if not is_exact_in_unit(amount, unit):
        raise AmountTooPrecise(f"{unit} amounts cannot have more decimals.", field=field)
    return amount


def _lock_pair(debit_id: int, credit_id: int) -> tuple[LedgerAccount, LedgerAccount]:
    """Fresh instances of both accounts, the instrument ones locked."""
    locked = lock_ledger_accounts([debit_id, credit_id])
    return locked[debit_id], locked[credit_id]


def _lock_given_pair(
    debit: LedgerAccount, credit: LedgerAccount
) -> tuple[LedgerAccount, LedgerAccount]:
    """Like `_lock_pair` for accounts the caller holds: a system account is used as given (it
    keeps no counters to re-read and takes no lock), only instrument accounts are re-read."""
    pair = [debit, credit]
    locked = lock_ledger_accounts(account.pk for account in pair if not account.is_system)
    fresh_debit, fresh_credit = (locked.get(account.pk, account) for account in pair)
    return fresh_debit, fresh_credit


def _check_pair(debit: LedgerAccount, credit: LedgerAccount, unit: str) -> None:
    if debit.merchant_id != credit.merchant_id:
        raise CrossMerchantTransfer()
    if debit.pk == credit.pk:
        raise SameAccount()
    for account in (debit, credit):
        if account.unit != unit:
            raise CurrencyMismatch(
                f"{account} is kept in {account.unit}, not {unit}.",
                meta={"expected": account.unit, "given": unit},
            )


def _check_funds(account: LedgerAccount, amount: Decimal) -> None:
    if not account.is_system and account.available < amount:
        raise InsufficientFunds(
            field="amount", meta={"available": amount_meta(account.available, account.unit)}
        )


def _write_entries(transfer: Transfer, rows: list[_EntryRow]) -> None:
    """Append the transfer's entries and move the cached counters of instrument accounts."""
    Entry.objects.bulk_create(
        Entry(transfer=transfer, account=account, layer=layer, side=side, amount=amount)
        for account, layer, side, amount in rows
    )
    deltas: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for account, layer, side, amount in rows:
        if account.is_system:
            continue
        counter = f"{side}s_{layer}"
        deltas[account.pk][counter] += amount
        setattr(account, counter, getattr(account, counter) + amount)
    for account_id, changes in deltas.items():
        LedgerAccount.objects.filter(pk=account_id).update(
            **{counter: F(counter) + delta for counter, delta in changes.items()}
        )


def _create(
    *,
    kind: str,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: Decimal,
    unit: str,
    code: str,
    reference: str,
    reason: str,
    actor: str,
    pending: Transfer | None = None,
    reverses: Transfer | None = None,
    expires_at: datetime | None = None,
) -> Transfer:
    """Write the transfer row; `actor` must be in the config.actors format (the table's CHECK
    would refuse it anyway; here the caller gets a coded error instead of a database one)."""
    if not actor_is_valid(actor):
        raise InvalidActor(field="actor")
    transfer = Transfer.objects.create(
        merchant_id=debit.merchant_id,
        kind=kind,
        code=code,
        debit_account=debit,
        credit_account=credit,
        amount=amount,
        unit=unit,
        pending=pending,
        reverses=reverses,
        expires_at=expires_at,
        reference=reference,
        reason=reason,
        actor=actor,
    )
    return transfer


def _move(
    *,
    kind: str,
    layer: str,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: Decimal,
    unit: str,
    code: str,
    reference: str,
    reason: str,
    actor: str,
    expires_at: datetime | None = None,
) -> Transfer:
    """Check and lock the pair, then write the transfer and its entries on `layer`."""
    check_amount(amount, unit)
    debit, credit = _lock_given_pair(debit, credit)
    _check_pair(debit, credit, unit)
    _check_funds(debit, amount)
    transfer = _create(
        kind=kind,
        debit=debit,
        credit=credit,
        amount=amount,
        unit=unit,
        code=code,
        reference=reference,
        reason=reason,
        actor=actor,
        expires_at=expires_at,
    )
    _write_entries(transfer, [(debit, layer, _DEBIT, amount), (credit, layer, _CREDIT, amount)])
    return transfer


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
    return _move(
        kind=Transfer.Kind.POSTED,
        layer=_POSTED,
        debit=debit,
        credit=credit,
        amount=amount,
        unit=unit,
        code=code,
        reference=reference,
        reason=reason,
        actor=actor,
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
    return _move(
        kind=Transfer.Kind.PENDING,
        layer=_PENDING,
        debit=debit,
        credit=credit,
        amount=amount,
        unit=unit,
        code=code,
        reference=reference,
        reason="",
        actor=actor,
        expires_at=expires_at,
    )


def _lock_open_hold(transfer: Transfer) -> tuple[Transfer, LedgerAccount, LedgerAccount]:
    debit, credit = _lock_pair(transfer.debit_account_id, transfer.credit_account_id)
    hold = lock_transfer(transfer.pk)
    if hold.kind != Transfer.Kind.PENDING:
        raise NotAHold()
    resolution = Transfer.objects.filter(pending_id=hold.pk).first()
    if resolution is not None:
        state = "posted" if resolution.kind == Transfer.Kind.POST_PENDING else "voided"
        raise HoldNotPending(f"The hold has already been {state}.", meta={"state": state})
    return hold, debit, credit


def _release_rows(hold: Transfer, debit: LedgerAccount, credit: LedgerAccount) -> list[_EntryRow]:
    return [(debit, _PENDING, _DEBIT, -hold.amount), (credit, _PENDING, _CREDIT, -hold.amount)]


@transaction.atomic
def transfer_post(*, transfer: Transfer, amount: Decimal | None = None, actor: str) -> Transfer:
    """Post a hold for `amount` (default: all of it) and release the rest; returns the
    `post_pending` transfer. An expired hold can no longer be posted (`hold_expired`)."""
    hold, debit, credit = _lock_open_hold(transfer)
    if hold.expires_at is not None and hold.expires_at <= timezone.now():
        raise HoldExpired(meta={"expired_at": hold.expires_at.isoformat()})
    amount = hold.amount if amount is None else check_amount(amount, hold.unit)
    if amount > hold.amount:
        raise AmountExceedsHold(field="amount", meta={"held": amount_meta(hold.amount, hold.unit)})
    post = _create(
        kind=Transfer.Kind.POST_PENDING,
        debit=debit,
        credit=credit,
        amount=amount,
        unit=hold.unit,
        code=hold.code,
        reference=hold.reference,
        reason="",
        actor=actor,
        pending=hold,
    )
    _write_entries(
        post,
        [
            *_release_rows(hold, debit, credit),
            (debit, _POSTED, _DEBIT, amount),
            (credit, _POSTED, _CREDIT, amount),
        ],
    )
    return post


@transaction.atomic
def transfer_void(*, transfer: Transfer, reason: str, actor: str) -> Transfer:
    """Release a hold entirely; returns the `void_pending` transfer."""
    if not reason.strip():
        raise ReasonRequired(field="reason")
    hold, debit, credit = _lock_open_hold(transfer)
    void = _create(
        kind=Transfer.Kind.VOID_PENDING,
        debit=debit,
        credit=credit,
        amount=hold.amount,
        unit=hold.unit,
        code=hold.code,
        reference=hold.reference,
        reason=reason,
        actor=actor,
        pending=hold,
    )
    _write_entries(void, _release_rows(hold, debit, credit))
    return void


def reversible_transfer(transfer: Transfer) -> Transfer:
    """The posted transfer behind `transfer` (a hold is reversed through its posting)."""
    if transfer.kind == Transfer.Kind.PENDING:
        resolution = Transfer.objects.filter(pending_id=transfer.pk).first()
        if resolution is None or resolution.kind != Transfer.Kind.POST_PENDING:
            raise NotReversible("The hold was never posted.")
        transfer = resolution
    if transfer.kind not in (Transfer.Kind.POSTED, Transfer.Kind.POST_PENDING):
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
    debit, credit = _lock_pair(original.credit_account_id, original.debit_account_id)
    original = lock_transfer(original.pk)
    remaining = original.amount - reversed_amount(original)
    amount = remaining if amount is None else check_amount(amount, original.unit)
    if amount <= 0 or amount > remaining:
        raise AmountExceedsReversible(
            field="amount", meta={"reversible": amount_meta(remaining, original.unit)}
        )
    _check_funds(debit, amount)
    reversal = _create(
        kind=Transfer.Kind.POSTED,
        debit=debit,
        credit=credit,
        amount=amount,
        unit=original.unit,
        code=code,
        reference=reference,
        reason=reason,
        actor=actor,
        reverses=original,
    )
    _write_entries(reversal, [(debit, _POSTED, _DEBIT, amount), (credit, _POSTED, _CREDIT, amount)])
    return reversal


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
        kind=Transfer.Kind.PENDING, expires_at__lte=at, resolution__isnull=True
    ).order_by("expires_at", "pk")


# --- the ledger's self-check -------------------------------------------------------------------

_EXPECTED_ENTRY_COUNT = {
    Transfer.Kind.POSTED: 2,
    Transfer.Kind.PENDING: 2,
    Transfer.Kind.POST_PENDING: 4,
    Transfer.Kind.VOID_PENDING: 2,
}


def _account_problems() -> list[str]:
    zero = Decimal(0)
    sums = {
        row["account_id"]: row
        for row in Entry.objects.values("account_id").annotate(
            **{
                f"{side}s_{layer}": Sum("amount", filter=Q(side=side, layer=layer), default=zero)
                for side in (_DEBIT, _CREDIT)
                for layer in (_PENDING, _POSTED)
            }
        )
    }
    problems = []
    for account in LedgerAccount.objects.order_by("pk").iterator(chunk_size=2000):
        summed = sums.get(account.pk, dict.fromkeys(COUNTERS, zero))
        if account.is_system:
            continue
        for counter in COUNTERS:
            cached = getattr(account, counter)
            if cached != summed[counter]:
                problems.append(
                    f"account {account.pk} ({account}): cached {counter} {cached} "
                    f"!= {summed[counter]} summed from its entries"
                )
            if summed[counter] < 0:
                problems.append(f"account {account.pk} ({account}): {counter} is negative")
        available = summed["credits_posted"] - summed["debits_posted"] - summed["debits_pending"]
        if available < 0:
            problems.append(f"account {account.pk} ({account}): available {available} < 0")
    return problems


def _transfer_problems() -> list[str]:
    problems = []
    signed = Case(When(side=_CREDIT, then=F("amount")), default=-F("amount"))
    for row in (
        Entry.objects.values("transfer_id", "layer")
        .annotate(net=Sum(signed))
        .exclude(net=0)
        .order_by("transfer_id")
    ):
        problems.append(
            f"transfer {row['transfer_id']}: {row['layer']} entries sum to {row['net']}, not 0"
        )
    misplaced = Entry.objects.filter(
        (Q(side=_DEBIT) & ~Q(account_id=F("transfer__debit_account_id")))
        | (Q(side=_CREDIT) & ~Q(account_id=F("transfer__credit_account_id")))
    )
    for entry in misplaced.order_by("pk"):
        problems.append(f"entry {entry.pk}: {entry.side} on an account its transfer does not name")

    zero = Value(Decimal(0))
    transfers = (
        Transfer.objects.select_related("pending", "reverses", "debit_account", "credit_account")
        .annotate(
            entry_count=Count("entries"),
            posted_credit=Coalesce(
                Sum("entries__amount", filter=Q(entries__side=_CREDIT, entries__layer=_POSTED)),
                zero,
            ),
            pending_credit=Coalesce(
                Sum("entries__amount", filter=Q(entries__side=_CREDIT, entries__layer=_PENDING)),
                zero,
            ),
        )
        .order_by("pk")
    )
    for transfer in transfers.iterator(chunk_size=2000):
        problems.extend(_one_transfer_problems(transfer))
    return problems


def _one_transfer_problems(transfer: Transfer) -> list[str]:
    label = f"transfer {transfer.pk} ({transfer.kind} {transfer.code})"
    problems = []
    accounts = (transfer.debit_account, transfer.credit_account)
    if any(account.unit != transfer.unit for account in accounts):
        problems.append(f"{label}: unit {transfer.unit} differs from an account's unit")
    if any(account.merchant_id != transfer.merchant_id for account in accounts):
        problems.append(f"{label}: an account belongs to another merchant")
    if not is_exact_in_unit(transfer.amount, transfer.unit):
        problems.append(f"{label}: {transfer.amount} is not exact in {transfer.unit}")
    count: int = transfer.entry_count  # type: ignore[attr-defined]
    if count != _EXPECTED_ENTRY_COUNT[Transfer.Kind(transfer.kind)]:
        problems.append(f"{label}: has {count} entries")
    hold = transfer.pending
    held = hold.amount if hold is not None else Decimal(0)
    expected_posted, expected_pending = {
        Transfer.Kind.POSTED: (transfer.amount, Decimal(0)),
        Transfer.Kind.PENDING: (Decimal(0), transfer.amount),
        Transfer.Kind.POST_PENDING: (transfer.amount, -held),
        Transfer.Kind.VOID_PENDING: (Decimal(0), -held),
    }[Transfer.Kind(transfer.kind)]
    if transfer.posted_credit != expected_posted:  # type: ignore[attr-defined]
        problems.append(f"{label}: posted entries do not move {expected_posted}")
    if transfer.pending_credit != expected_pending:  # type: ignore[attr-defined]
        problems.append(f"{label}: pending entries do not move {expected_pending}")
    if hold is not None:
        if hold.kind != Transfer.Kind.PENDING:
            problems.append(f"{label}: resolves transfer {hold.pk}, which is not a hold")
        if (hold.debit_account_id, hold.credit_account_id, hold.unit) != (
            transfer.debit_account_id,
            transfer.credit_account_id,
            transfer.unit,
        ):
            problems.append(f"{label}: accounts or unit differ from its hold {hold.pk}")
        if transfer.kind == Transfer.Kind.POST_PENDING and transfer.amount > hold.amount:
            problems.append(f"{label}: posts {transfer.amount}, more than held {hold.amount}")
        if transfer.kind == Transfer.Kind.VOID_PENDING and transfer.amount != hold.amount:
            problems.append(f"{label}: releases {transfer.amount}, not the held {hold.amount}")
    original = transfer.reverses
    if original is not None and (
        original.debit_account_id != transfer.credit_account_id
        or original.credit_account_id != transfer.debit_account_id
    ):
        problems.append(f"{label}: does not run opposite to transfer {original.pk}")
    return problems


def _reversal_problems() -> list[str]:
    over = (
        Transfer.objects.annotate(reversed=Sum("reversals__amount"))
        .filter(reversed__gt=F("amount"))
        .order_by("pk")
    )
    return [f"transfer {t.pk}: reversed {t.reversed} of {t.amount}" for t in over]


def _instrument_problems() -> list[str]:
    problems = []
    for card in GiftCard.objects.select_related("account").exclude(
        account__kind=LedgerAccount.Kind.GIFT_CARD, account__unit=F("currency")
    ):
        problems.append(f"gift card {card.pk}: its account is not a {card.currency} card account")
    for loyalty in LoyaltyAccount.objects.select_related("programme", "account"):
        account = loyalty.account
        if account.kind != LedgerAccount.Kind.LOYALTY or account.unit != loyalty.programme.unit:
            problems.append(f"loyalty account {loyalty.pk}: its ledger account does not match")
    return problems


def ledger_verify() -> list[str]:
    """Recompute every cached balance from its entries and check every transfer; returns the
    problems found (empty: the ledger is consistent). Used by `manage.py ledger_check`."""
    return [
        *_account_problems(),
        *_transfer_problems(),
        *_reversal_problems(),
        *_instrument_problems(),
    ]
