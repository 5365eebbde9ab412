"""Ledger writes. See `wallet.models.ledger` for the model, `wallet.ledger_verify` for the check.

One implementation of the ledger rules, `ledger_write`: any number of transfers (posted, holds,
posts and voids of holds, reversals) in one statement, whatever the number of accounts:

1. one conditional `UPDATE … RETURNING` of every instrument account they touch: it locks the rows
   in pk order (a materialised `SELECT … ORDER BY id FOR UPDATE`), adds each account's summed
   counter deltas, and only where the available balance stays >= 0 (the CHECK constraints
   remain the last guard); an account missing from RETURNING was short of funds;
2. a multi-row INSERT of the transfers, 3. one of their entries, both skipped unless every
   account passed step 1;
all three in one statement (data-modifying CTEs): a sale's ledger work is one round trip.
Every single-transfer function below is this with one transfer. It must run inside a
transaction; a refusal raised after step 1 leaves that transaction to roll back, so callers
that catch a refusal and carry on wrap the call in a savepoint (the public services do).

Entries per transfer (debit account D, credit account C, amount X; a hold of H):
    posted        D posted debit +X    C posted credit +X
    pending       D pending debit +X   C pending credit +X
    post_pending  D pending debit -H   C pending credit -H   D posted debit +X   C posted credit +X
    void_pending  D pending debit -H   C pending credit -H
so in each layer of each transfer the credits equal the debits.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet, Sum
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
from wallet.ledger_verify import COUNTERS, ledger_verify
from wallet.lock_objects import lock_ledger_accounts, lock_transfer
from wallet.models import Entry, LedgerAccount, Transfer
from wallet.units import is_exact_in_unit

__all__ = ["COUNTERS", "Move", "ledger_verify", "ledger_write"]

_DEBIT, _CREDIT = Entry.Side.DEBIT, Entry.Side.CREDIT
_PENDING, _POSTED = Entry.Layer.PENDING, Entry.Layer.POSTED
Kind = Transfer.Kind


def system_account(*, merchant_id: int, kind: str, unit: str) -> LedgerAccount:
    """The merchant's system account of `kind` in `unit`, created on first use."""
    return system_accounts(merchant_id=merchant_id, wanted=[(kind, unit)])[(kind, unit)]


_CREATE_SYSTEM = """
INSERT INTO wallet_ledgeraccount (merchant_id, kind, unit, is_system, name, debits_pending,
    debits_posted, credits_pending, credits_posted, created_at)
SELECT %s, kind, unit, true, name, 0, 0, 0, 0, %s
FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[]) AS v(kind, unit, name)
ON CONFLICT DO NOTHING
RETURNING *
"""


# System accounts, once committed, never change (they keep no counters) nor go (PROTECT), so
# each process remembers their ids, learnt only when the transaction that read or created them
# commits (a rolled-back creation is never remembered). Short of that, one query per sale.
_SYSTEM_IDS: dict[tuple[int, str, str], tuple[int, str]] = {}


def system_accounts_cache_clear() -> None:
    _SYSTEM_IDS.clear()


def system_accounts(
    *, merchant_id: int, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], LedgerAccount]:
    """Several system accounts of one merchant, {(kind, unit): account}: from the per-process
    memory, else one query once they exist; the missing ones are created by one `INSERT … ON
    CONFLICT DO NOTHING RETURNING` (a concurrent first use is no error, so no savepoint; what
    it skipped is read back). Each call hands out its own instances."""
    keys = set(wanted)
    remembered = {}
    for kind, unit in keys:
        if (hit := _SYSTEM_IDS.get((merchant_id, kind, unit))) is not None:
            remembered[(kind, unit)] = LedgerAccount(
                pk=hit[0],
                merchant_id=merchant_id,
                kind=kind,
                unit=unit,
                is_system=True,
                name=hit[1],
            )
    if keys <= remembered.keys():
        return remembered
    found = _system_accounts_read(merchant_id, keys - remembered.keys())
    transaction.on_commit(
        lambda: _SYSTEM_IDS.update(
            ((merchant_id, a.kind, a.unit), (a.pk, a.name)) for a in found.values()
        )
    )
    return remembered | found


def _system_accounts_read(
    merchant_id: int, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], LedgerAccount]:
    found = _system_accounts_found(merchant_id, keys)
    missing = sorted(keys - found.keys())
    if missing:
        names = [f"{LedgerAccount.Kind(kind).label} {unit}" for kind, unit in missing]
        created = LedgerAccount.objects.raw(
            _CREATE_SYSTEM,
            [
                merchant_id,
                timezone.now(),
                [kind for kind, _ in missing],
                [unit for _, unit in missing],
                names,
            ],
        )
        found.update(((account.kind, account.unit), account) for account in created)
        if skipped := keys - found.keys():  # created meanwhile by a concurrent first use
            found.update(_system_accounts_found(merchant_id, skipped))
    return found


def _system_accounts_found(
    merchant_id: int, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], LedgerAccount]:
    if not keys:
        return {}
    return {
        (account.kind, account.unit): account
        for account in LedgerAccount.objects.filter(
            merchant_id=merchant_id,
            is_system=True,
            kind__in={kind for kind, _ in keys},
            unit__in={unit for _, unit in keys},
        )
        if (account.kind, account.unit) in keys
    }


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


@dataclass(frozen=True)
class Move:
    """One transfer to write. `pending` is the hold a post or void resolves, `reverses` the
    posted transfer a reversal gives back."""

    kind: str
    debit: LedgerAccount
    credit: LedgerAccount
    amount: Decimal
    code: str
    actor: str
    reference: str = ""
    reason: str = ""
    expires_at: datetime | None = None
    pending: Transfer | None = None
    reverses: Transfer | None = None

    @property
    def unit(self) -> str:
        return self.pending.unit if self.pending is not None else self.debit.unit

    def entries(self) -> list[tuple[LedgerAccount, str, str, Decimal]]:
        d, c, x = self.debit, self.credit, self.amount
        rows: list[tuple[LedgerAccount, str, str, Decimal]] = []
        if self.pending is not None:
            held = self.pending.amount
            rows += [(d, _PENDING, _DEBIT, -held), (c, _PENDING, _CREDIT, -held)]
        if self.kind == Kind.PENDING:
            rows += [(d, _PENDING, _DEBIT, x), (c, _PENDING, _CREDIT, x)]
        elif self.kind in (Kind.POSTED, Kind.POST_PENDING):
            rows += [(d, _POSTED, _DEBIT, x), (c, _POSTED, _CREDIT, x)]
        return rows


def _check(move: Move) -> None:
    debit, credit = move.debit, move.credit
    if not actor_is_valid(move.actor):
        raise InvalidActor(field="actor")
    check_amount(move.amount, move.unit)
    if debit.merchant_id != credit.merchant_id:
        raise CrossMerchantTransfer()
    if debit.pk == credit.pk:
        raise SameAccount()
    for account in (debit, credit):
        if account.unit != move.unit:
            raise CurrencyMismatch(
                f"{account} is kept in {account.unit}, not {move.unit}.",
                meta={"expected": account.unit, "given": move.unit},
            )


_WRITE = """
WITH locked AS MATERIALIZED (
    SELECT id FROM wallet_ledgeraccount WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE
), applied AS (
    UPDATE wallet_ledgeraccount AS a SET
        debits_pending = a.debits_pending + v.dpe, debits_posted = a.debits_posted + v.dpo,
        credits_pending = a.credits_pending + v.cpe, credits_posted = a.credits_posted + v.cpo
    FROM locked,
        unnest(%(ids)s::bigint[], %(dpe)s::numeric[], %(dpo)s::numeric[], %(cpe)s::numeric[],
            %(cpo)s::numeric[]) AS v(id, dpe, dpo, cpe, cpo)
    WHERE a.id = locked.id AND a.id = v.id
        AND a.credits_posted + v.cpo - a.debits_posted - v.dpo - a.debits_pending - v.dpe >= 0
    RETURNING a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted
), funded AS (
    SELECT count(*) = cardinality(%(ids)s::bigint[]) AS ok FROM applied
), transfers AS (
    INSERT INTO wallet_transfer (public_id, merchant_id, kind, code, debit_account_id,
        credit_account_id, amount, unit, pending_id, reverses_id, expires_at, reference, reason,
        actor, created_at)
    SELECT t.public_id, t.merchant_id, t.kind, t.code, t.debit_account_id, t.credit_account_id,
        t.amount, t.unit, t.pending_id, t.reverses_id, t.expires_at, t.reference, t.reason,
        t.actor, %(now)s
    FROM funded, unnest(%(t_public_id)s::uuid[], %(t_merchant_id)s::bigint[],
        %(t_kind)s::varchar[], %(t_code)s::varchar[], %(t_debit)s::bigint[],
        %(t_credit)s::bigint[], %(t_amount)s::numeric[], %(t_unit)s::varchar[],
        %(t_pending)s::bigint[], %(t_reverses)s::bigint[], %(t_expires_at)s::timestamptz[],
        %(t_reference)s::varchar[], %(t_reason)s::text[], %(t_actor)s::varchar[])
        AS t(public_id, merchant_id, kind, code, debit_account_id, credit_account_id, amount,
            unit, pending_id, reverses_id, expires_at, reference, reason, actor)
    WHERE funded.ok
    RETURNING id, public_id
), entries AS (
    INSERT INTO wallet_entry (transfer_id, account_id, layer, side, amount)
    SELECT transfers.id, e.account_id, e.layer, e.side, e.amount
    FROM unnest(%(e_transfer)s::uuid[], %(e_account)s::bigint[], %(e_layer)s::varchar[],
        %(e_side)s::varchar[], %(e_amount)s::numeric[])
        AS e(transfer_public_id, account_id, layer, side, amount)
    JOIN transfers ON transfers.public_id = e.transfer_public_id
)
SELECT
    (SELECT array_agg(ARRAY[id, debits_pending, debits_posted, credits_pending, credits_posted])
        FROM applied),
    (SELECT array_agg(ARRAY[public_id::text, id::text]) FROM transfers)
"""


def _counter_deltas(
    moves: Sequence[Move],
) -> tuple[dict[str, list[Any]], dict[int, list[LedgerAccount]]]:
    """Each instrument account's summed counter deltas, as the statement's arrays (pk order),
    and the account objects to update with what it returns."""
    deltas: dict[int, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(COUNTERS, Decimal(0)))
    accounts: dict[int, list[LedgerAccount]] = defaultdict(list)
    for move in moves:
        for account, layer, side, amount in move.entries():
            if not account.is_system:
                deltas[account.pk][f"{side}s_{layer}"] += amount
                accounts[account.pk].append(account)
    ids = sorted(deltas)
    columns = {
        short: [deltas[pk][counter] for pk in ids]
        for short, counter in zip(("dpe", "dpo", "cpe", "cpo"), COUNTERS, strict=True)
    }
    return {"ids": ids, **columns}, accounts


def _rows(moves: Sequence[Move], transfers: list[Transfer]) -> dict[str, list[Any]]:
    """The transfers and their entries as the statement's column arrays."""
    entries = [
        (transfer.public_id, account.pk, layer, side, amount)
        for move, transfer in zip(moves, transfers, strict=True)
        for account, layer, side, amount in move.entries()
    ]
    columns: dict[str, list[Any]] = {
        "t_public_id": [t.public_id for t in transfers],
        "t_merchant_id": [t.merchant_id for t in transfers],
        "t_kind": [t.kind for t in transfers],
        "t_code": [t.code for t in transfers],
        "t_debit": [t.debit_account_id for t in transfers],
        "t_credit": [t.credit_account_id for t in transfers],
        "t_amount": [t.amount for t in transfers],
        "t_unit": [t.unit for t in transfers],
        "t_pending": [t.pending_id for t in transfers],
        "t_reverses": [t.reverses_id for t in transfers],
        "t_expires_at": [t.expires_at for t in transfers],
        "t_reference": [t.reference for t in transfers],
        "t_reason": [t.reason for t in transfers],
        "t_actor": [t.actor for t in transfers],
    }
    for name, values in zip(
        ("e_transfer", "e_account", "e_layer", "e_side", "e_amount"),
        zip(*entries, strict=True),
        strict=True,
    ):
        columns[name] = list(values)
    return columns


def _short_of_funds(ids: list[int], updated: set[int]) -> InsufficientFunds:
    short = next(pk for pk in ids if pk not in updated)
    account = LedgerAccount.objects.get(pk=short)
    error = InsufficientFunds(
        field="amount", meta={"available": amount_meta(account.available, account.unit)}
    )
    error.account_id = short  # type: ignore[attr-defined]
    return error


def ledger_write(moves: Sequence[Move]) -> list[Transfer]:
    """Write `moves` in one statement (see the module's docstring); returns their transfers,
    in order. An account short of funds writes nothing and raises `InsufficientFunds`.

    Holds being resolved must have been checked open under the accounts' locks
    (`_lock_open_holds`); the one-to-one `pending` link refuses a second resolution anyway."""
    if not moves:
        return []
    assert connection.in_atomic_block, "ledger_write runs inside a transaction"
    for move in moves:
        _check(move)
    now = timezone.now()
    transfers = [
        Transfer(
            merchant_id=move.debit.merchant_id,
            kind=move.kind,
            code=move.code,
            debit_account=move.debit,
            credit_account=move.credit,
            amount=move.amount,
            unit=move.unit,
            pending=move.pending,
            reverses=move.reverses,
            expires_at=move.expires_at,
            reference=move.reference,
            reason=move.reason,
            actor=move.actor,
            created_at=now,
        )
        for move in moves
    ]
    counters, accounts = _counter_deltas(moves)
    with connection.cursor() as cursor:
        cursor.execute(_WRITE, {**counters, **_rows(moves, transfers), "now": now})
        applied, written = cursor.fetchone()
    updated = {int(row[0]): row[1:] for row in applied or []}
    if len(updated) < len(counters["ids"]):
        raise _short_of_funds(counters["ids"], set(updated))
    for pk, values in updated.items():
        for account in accounts[pk]:
            for counter, value in zip(COUNTERS, values, strict=True):
                setattr(account, counter, value)
    ids = {uuid.UUID(public_id): int(pk) for public_id, pk in written}
    for transfer in transfers:
        transfer.pk = ids[transfer.public_id]
        transfer._state.adding, transfer._state.db = False, connection.alias
    return transfers


def _lock_open_holds(
    holds: Sequence[Transfer], locked: dict[int, LedgerAccount] | None = None
) -> dict[int, LedgerAccount]:
    """Lock the holds' instrument accounts (pk order; `locked`: the caller already did, these
    are the rows), then check every hold is still open; returns the accounts. Holds between
    system accounts are serialised on their own rows."""
    accounts = locked
    if accounts is None:
        accounts = lock_ledger_accounts(
            pk for hold in holds for pk in (hold.debit_account_id, hold.credit_account_id)
        )
    for hold in holds:
        if all(accounts[pk].is_system for pk in (hold.debit_account_id, hold.credit_account_id)):
            lock_transfer(hold.pk)
        if hold.kind != Kind.PENDING:
            raise NotAHold()
    resolved = dict(
        Transfer.objects.filter(pending_id__in=[h.pk for h in holds]).values_list(
            "pending_id", "kind"
        )
    )
    for hold in holds:
        if hold.pk in resolved:
            state = "posted" if resolved[hold.pk] == Kind.POST_PENDING else "voided"
            raise HoldNotPending(f"The hold has already been {state}.", meta={"state": state})
    return accounts


def hold_resolution(
    hold: Transfer,
    accounts: dict[int, LedgerAccount],
    *,
    post: Decimal | None,
    actor: str,
    reason: str = "",
) -> Move:
    """The move that posts `post` of an open hold (None: void it)."""
    kind = Kind.VOID_PENDING if post is None else Kind.POST_PENDING
    if post is not None:
        if hold.expires_at is not None and hold.expires_at <= timezone.now():
            raise HoldExpired(meta={"expired_at": hold.expires_at.isoformat()})
        if post > hold.amount:
            raise AmountExceedsHold(
                field="amount", meta={"held": amount_meta(hold.amount, hold.unit)}
            )
    return Move(
        kind=kind,
        debit=accounts[hold.debit_account_id],
        credit=accounts[hold.credit_account_id],
        amount=hold.amount if post is None else post,
        code=hold.code,
        reference=hold.reference,
        reason=reason,
        actor=actor,
        pending=hold,
    )


def holds_resolve(
    resolutions: Sequence[tuple[Transfer, Decimal | None]],
    *,
    actor: str,
    reason: str = "",
    also: Sequence[Move] = (),
    locked: dict[int, LedgerAccount] | None = None,
) -> list[Transfer]:
    """Post (amount) or void (None; `reason` says why) several holds at once, with `also`
    other moves in the same write: one lock, one check, one write. `locked`: the accounts,
    when the caller locked them already (in the canonical order, with others)."""
    holds = [hold for hold, _ in resolutions]
    accounts = _lock_open_holds(holds, locked) if holds else {}
    return ledger_write(
        [
            hold_resolution(
                hold, accounts, post=amount, actor=actor, reason=reason if amount is None else ""
            )
            for hold, amount in resolutions
        ]
        + list(also)
    )


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
