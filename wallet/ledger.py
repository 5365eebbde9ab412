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
Every single-transfer function (`wallet.transfers`) is this with one transfer. It must run
inside a transaction; a refusal raised after step 1 leaves that transaction to roll back, so callers
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from config.actors import actor_is_valid
from wallet.errors import (
    AmountExceedsHold,
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
    SameAccount,
    amount_meta,
)
from wallet.ledger_verify import COUNTERS, ledger_verify
from wallet.lock_objects import lock_ledger_accounts, lock_transfer
from wallet.models import Entry, LedgerAccount, Transfer
from wallet.units import is_exact_in_unit

__all__ = ["COUNTERS", "Move", "ledger_params", "ledger_verify", "ledger_write"]

_DEBIT, _CREDIT = Entry.Side.DEBIT, Entry.Side.CREDIT
_PENDING, _POSTED = Entry.Layer.PENDING, Entry.Layer.POSTED
Kind = Transfer.Kind


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
    now = timezone.now()
    params, transfers, accounts = ledger_params(moves, now=now)
    with connection.cursor() as cursor:
        cursor.execute(_WRITE, params)
        applied, written = cursor.fetchone()
    updated = {int(row[0]): row[1:] for row in applied or []}
    if len(updated) < len(params["ids"]):
        raise _short_of_funds(params["ids"], set(updated))
    for pk, values in updated.items():
        for account in accounts[pk]:
            for counter, value in zip(COUNTERS, values, strict=True):
                setattr(account, counter, value)
    ids = {uuid.UUID(public_id): int(pk) for public_id, pk in written}
    for transfer in transfers:
        transfer.pk = ids[transfer.public_id]
        transfer._state.adding, transfer._state.db = False, connection.alias
    return transfers


def ledger_params(
    moves: Sequence[Move], *, now: datetime
) -> tuple[dict[str, Any], list[Transfer], dict[int, list[LedgerAccount]]]:
    """The checked moves as `ledger_write`'s statement parameters (the counter deltas, the
    transfers' and entries' column arrays), their transfers (not saved) and the account objects
    each instrument account's new counters belong to. The till's one-round-trip sale
    (`payments.services.sale_fast`) hands the same parameters to its database function."""
    for move in moves:
        _check(move)
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
    return {**counters, **_rows(moves, transfers), "now": now}, transfers, accounts


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
