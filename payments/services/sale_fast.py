"""The till's everyday sale in two round trips: one read, one write.

A captured till sale paid from the customer's gift cards (by id), loyalty points, cash or the
till's own terminal is the busiest request Kassa serves. `sale_fast` plans it with the engine's
own rules (the planner, the pricing, the ledger's moves and counters) from one read of the
customer, the grant and the instruments, then writes everything with one call of the database
function `kassa_pos_sale` (payments migration 0011): the idempotency record with its answer, the
customer's lock, the ledger write, the re-check under the locks, the payment and its rows.

It only ever takes the happy path. Whatever it does not cover (another method, a voucher, a
code, a basket that sells gift cards, an offline replay, a web key) or finds wrong (a refusal,
a customer out of reach, a key already used, funds gone under the lock) returns None having
written nothing, and the general engine (`payment_create`) runs the request and answers it:
refusals, replays and their error codes have one implementation. `KASSA_POS_SALE_FAST=false`
turns it off. `tests/payments/test_sale_fast.py` holds the two paths to the same rows and
answer, column by column.
"""

import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from moneyed import Money
from rest_framework.fields import DateTimeField

from config.actors import api_key_actor
from config.errors import KassaError
from config.money import money_json
from customers.models import CustomerAccessGrant, Strength
from merchants.models import ApiKey
from payments.gift_card_lines import ITEM
from payments.methods import method_for
from payments.models import Payment, Tender
from payments.planning import PlannedTender, Source, plan_tenders
from wallet.ledger import Move, ledger_params
from wallet.models import GiftCard, LedgerAccount, Transfer
from wallet.pricing import money_to_points, points_earned, points_to_money
from wallet.selectors import gift_card_check_usable
from wallet.system_accounts import system_accounts

FALLBACK_SQLSTATE = "KA001"  # raised by kassa_pos_sale: something changed, run the engine
_METHODS = {
    Tender.Method.GIFT_CARD,
    Tender.Method.LOYALTY_POINTS,
    Tender.Method.CASH,
    Tender.Method.EXTERNAL_CARD,
}
_REQUEST_KEYS = {"amount", "customer", "external_reference", "basket", "tenders", "capture"}
_DATETIME = DateTimeField()

_READ = """
SELECT c.id, c.public_id, c.merged_into_id IS NULL AND c.erased_at IS NULL,
    g.expires_at, g.loyalty_strong_until, g.wallet_strong_until,
    ARRAY(SELECT ARRAY[gc.public_id::text, gc.id::text, gc.account_id::text, gc.currency,
            gc.status, gc.expires_at::text, gc.code_last4,
            (a.credits_posted - a.debits_posted - a.debits_pending)::text]
        FROM wallet_giftcard gc JOIN wallet_ledgeraccount a ON a.id = gc.account_id
        WHERE gc.customer_id = c.id AND gc.public_id = ANY(%(cards)s::uuid[])),
    (SELECT ARRAY[la.id::text, la.account_id::text, a.unit,
            (a.credits_posted - a.debits_posted - a.debits_pending)::text, p.currency,
            p.earn_rate::text, p.point_value::text, p.points_validity_days::text]
        FROM wallet_loyaltyaccount la
        JOIN wallet_loyaltyprogramme p ON p.id = la.programme_id
        JOIN wallet_ledgeraccount a ON a.id = la.account_id
        WHERE la.customer_id = c.id AND la.closed_at IS NULL AND p.merchant_id = %(merchant)s
            AND p.currency = %(currency)s
        ORDER BY la.created_at, la.id LIMIT 1)
FROM customers_customer c
LEFT JOIN customers_customeraccessgrant g ON g.customer_id = c.id AND g.api_key_id = %(key)s
WHERE c.merchant_id = %(merchant)s AND c.public_id = %(customer)s
"""


class _NotCovered(Exception):
    """The request leaves the fast path: the general engine answers it."""


@dataclass(frozen=True)
class _Card:
    public_id: str
    pk: int
    account: LedgerAccount
    status: str
    expires_at: datetime | None
    last4: str


@dataclass(frozen=True)
class _Loyalty:
    pk: int
    account: LedgerAccount
    currency: str
    earn_rate: Decimal
    point_value: Decimal
    validity_days: int | None


@dataclass(frozen=True)
class _Read:
    customer_id: int
    customer_public_id: str
    strength: Strength | None
    cards: dict[str, _Card]
    loyalty: _Loyalty | None


def sale_fast(
    *,
    api_key: ApiKey,
    idempotency_key: str,
    record_key: str,
    fingerprint: str,
    values: dict[str, Any],
    basket: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """The answer of the sale `values` (PaymentCreateInput's validated data), written; None when
    the general engine must run the request instead (nothing was written)."""
    try:
        return _sell(
            api_key=api_key,
            idempotency_key=idempotency_key,
            record_key=record_key,
            fingerprint=fingerprint,
            values=values,
            basket=basket,
        )
    except (_NotCovered, KassaError):
        return None


def _covered(api_key: ApiKey, values: dict[str, Any]) -> None:
    if api_key.scope != ApiKey.Scope.TERMINAL or api_key.terminal is None:
        raise _NotCovered
    if values.keys() - _REQUEST_KEYS - {"channel", "offline"} or values.get("offline"):
        raise _NotCovered
    if not values.get("capture") or not values.get("customer"):
        raise _NotCovered
    if any(line.get("kind", ITEM) != ITEM for line in values["basket"]):
        raise _NotCovered
    for tender in values["tenders"]:
        if tender["method"] not in _METHODS or "code" in tender:
            raise _NotCovered


def _sell(
    *,
    api_key: ApiKey,
    idempotency_key: str,
    record_key: str,
    fingerprint: str,
    values: dict[str, Any],
    basket: list[dict[str, Any]],
) -> dict[str, Any] | None:
    _covered(api_key, values)
    amount: Money = values["amount"]
    currency = amount.currency.code
    requested = values["tenders"]
    now = timezone.now()
    read = _read(api_key, values, currency, now)
    plan = plan_tenders(
        amount=amount,
        channel=Payment.Channel.POS,
        sources=[_source(read, index, tender, currency) for index, tender in enumerate(requested)],
    )
    actor = api_key_actor(api_key)
    payment_id = uuid.uuid4()
    tenders = [
        _tender_row(read, planned, requested, sequence)
        for sequence, planned in enumerate(plan, start=1)
    ]
    moves, earned = _moves(api_key, read, tenders, payment_id, actor, currency)
    params, transfers, _ = ledger_params(moves, now=now) if moves else ({}, [], {})
    for tender, transfer in zip((t for t in tenders if t["_moves"]), transfers, strict=False):
        tender["transfer"] = str(transfer.public_id)
    earn_transfer = transfers[-1] if earned else None
    payment = _payment_row(api_key, idempotency_key, read, values, basket, payment_id, earned, now)
    body = _answer(api_key, read, payment, tenders, now)
    call = {
        "at": now.isoformat(),
        "customer_id": read.customer_id,
        "idempotency": {
            "api_key_id": api_key.pk,
            "key": record_key,
            "fingerprint": fingerprint,
            "body": body,
        },
        "ledger": {name: _plain(value) for name, value in params.items() if name != "now"},
        "payment": payment,
        "tenders": [{k: v for k, v in t.items() if not k.startswith("_")} for t in tenders],
        "event": {
            "type": "payment.captured",
            "actor": actor,
            "data": {
                "tenders": [
                    {"sequence": t["sequence"], "method": t["method"], **t["_money"]}
                    for t in tenders
                ],
                "points_earned": earned,
            },
        },
        "earn_transfer": str(earn_transfer.public_id) if earn_transfer else None,
        "lot": _lot(read, earned, now) if earned else None,
    }
    if not _write(call):
        return None
    return body


def _read(api_key: ApiKey, values: dict[str, Any], currency: str, now: datetime) -> _Read:
    cards = [str(t["gift_card"]) for t in values["tenders"] if t.get("gift_card")]
    with connection.cursor() as cursor:
        cursor.execute(
            _READ,
            {
                "cards": cards,
                "merchant": api_key.merchant_id,
                "currency": currency,
                "key": api_key.pk,
                "customer": values["customer"],
            },
        )
        row = cursor.fetchone()
    if row is None or not row[2]:
        raise _NotCovered
    customer_id, public_id, _, grant_expires, loyalty_until, wallet_until, card_rows, loyalty = row
    strength = None
    if grant_expires is not None:
        grant = CustomerAccessGrant(
            expires_at=grant_expires,
            loyalty_strong_until=loyalty_until,
            wallet_strong_until=wallet_until,
        )
        strength = grant.strength_at(now)
    return _Read(
        customer_id=customer_id,
        customer_public_id=str(public_id),
        strength=strength,
        cards={card.public_id: card for card in map(_card, card_rows, [api_key] * len(card_rows))},
        loyalty=_loyalty(api_key, loyalty) if loyalty else None,
    )


def _account(api_key: ApiKey, pk: str, unit: str, available: str) -> LedgerAccount:
    """The instrument's ledger account as the moves need it; `available` is all the planner
    reads of its counters (the write re-checks the funds under its lock)."""
    return LedgerAccount(
        pk=int(pk),
        merchant_id=api_key.merchant_id,
        unit=unit,
        is_system=False,
        credits_posted=Decimal(available),
        debits_posted=Decimal(0),
        debits_pending=Decimal(0),
    )


def _card(row: list[Any], api_key: ApiKey) -> _Card:
    public_id, pk, account, currency, status, expires_at, last4, available = row
    return _Card(
        public_id=str(uuid.UUID(public_id)),
        pk=int(pk),
        account=_account(api_key, account, currency, available),
        status=status,
        expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
        last4=last4 or "",
    )


def _loyalty(api_key: ApiKey, row: list[Any]) -> _Loyalty:
    pk, account, unit, available, currency, earn_rate, point_value, validity = row
    return _Loyalty(
        pk=int(pk),
        account=_account(api_key, account, unit, available),
        currency=currency,
        earn_rate=Decimal(earn_rate),
        point_value=Decimal(point_value),
        validity_days=int(validity) if validity is not None else None,
    )


def _require(read: _Read, strength: Strength) -> None:
    if read.strength is None or read.strength < strength:
        raise _NotCovered


def _source(read: _Read, index: int, tender: dict[str, Any], currency: str) -> Source:
    """As the tender's method resolves it (`payments.methods`), from the one read."""
    method = tender["method"]
    if read.strength is None:
        raise _NotCovered
    if method == Tender.Method.GIFT_CARD:
        _require(read, method_for(method).strength or Strength.WALLET)
        card = read.cards.get(str(tender["gift_card"]))
        if card is None:
            raise _NotCovered
        gift_card_check_usable(
            gift_card=GiftCard(status=card.status, expires_at=card.expires_at), at=timezone.now()
        )
        cap = Money(card.account.available, card.account.unit)
        return Source(index, method, card.account.unit, tender.get("amount"), cap)
    if method == Tender.Method.LOYALTY_POINTS:
        _require(read, method_for(method).strength or Strength.LOYALTY)
        loyalty = read.loyalty
        if loyalty is None:
            raise _NotCovered
        value = tender.get("amount")
        if tender.get("points") is not None:
            if tender["points"] > loyalty.account.available:
                raise _NotCovered
            value = points_to_money(
                points=tender["points"], point_value=loyalty.point_value, currency=loyalty.currency
            )
        cap = points_to_money(
            points=int(loyalty.account.available),
            point_value=loyalty.point_value,
            currency=loyalty.currency,
        )
        return Source(index, method, loyalty.currency, value, cap)
    return Source(index, method, currency, tender.get("amount"))


def _tender_row(
    read: _Read, planned: PlannedTender, requested: list[dict[str, Any]], sequence: int
) -> dict[str, Any]:
    """The tender's row (Tender's columns; `_` keys are for building, not written)."""
    tender = requested[planned.source.index]
    method = planned.source.method
    amount = planned.amount
    money = money_json(amount)
    card = (
        read.cards.get(str(tender.get("gift_card"))) if method == Tender.Method.GIFT_CARD else None
    )
    points = None
    if method == Tender.Method.LOYALTY_POINTS:
        assert read.loyalty is not None
        points = tender.get("points") or money_to_points(
            value=amount, point_value=read.loyalty.point_value
        )
    return {
        "public_id": str(uuid.uuid4()),
        "sequence": sequence,
        "method": method,
        "status": Tender.Status.CAPTURED,
        "amount_currency": money["currency"],
        "amount": str(amount.amount),
        "captured_amount_currency": money["currency"],
        "captured_amount": str(amount.amount),
        "refunded_amount_currency": money["currency"],
        "refunded_amount": "0",
        "points": points,
        "gift_card_id": card.pk if card else None,
        "voucher_id": None,
        "voucher_redemption_id": None,
        "loyalty_account_id": read.loyalty.pk if points is not None and read.loyalty else None,
        "bank_card_id": None,
        "transfer": None,
        "stripe_payment_method_id": "",
        "stripe_payment_intent_id": "",
        "stripe_charge_id": "",
        "stripe_client_secret": "",
        "external_reference": tender.get("reference", ""),
        "failure_code": "",
        "failure_detail": "",
        "disputed": False,
        "_money": money,
        "_amount": amount,
        "_card": card,
        "_moves": method in (Tender.Method.GIFT_CARD, Tender.Method.LOYALTY_POINTS),
    }


def _moves(
    api_key: ApiKey,
    read: _Read,
    tenders: list[dict[str, Any]],
    payment_id: uuid.UUID,
    actor: str,
    currency: str,
) -> tuple[list[Move], int]:
    """The tenders' moves (as `payments.methods` charges them at once) and the points earn
    (as `methods._earn_move`), and the points earned."""
    wanted = {(LedgerAccount.Kind.REDEMPTION_CLEARING, currency)}
    if read.loyalty is not None:
        wanted |= {
            (LedgerAccount.Kind.REDEMPTION_CLEARING, read.loyalty.account.unit),
            (LedgerAccount.Kind.POINTS_EXPENSE, read.loyalty.account.unit),
        }
    systems = system_accounts(merchant_id=api_key.merchant_id, wanted=wanted)
    moves = []
    for tender in tenders:
        if not tender["_moves"]:
            continue
        if tender["method"] == Tender.Method.GIFT_CARD:
            debit, value, code = (
                tender["_card"].account,
                tender["_amount"].amount,
                Transfer.Code.REDEMPTION,
            )
        else:
            assert read.loyalty is not None
            debit, value, code = read.loyalty.account, Decimal(tender["points"]), Transfer.Code.BURN
        moves.append(
            Move(
                kind=Transfer.Kind.POSTED,
                debit=debit,
                credit=systems[(LedgerAccount.Kind.REDEMPTION_CLEARING, debit.unit)],
                amount=value,
                code=code,
                reference=f"tender:{tender['public_id']}",
                actor=actor,
            )
        )
    spend = sum(
        (t["_amount"] for t in tenders if method_for(t["method"]).earns_points), Money(0, currency)
    )
    if read.loyalty is None or spend.amount <= 0:
        return moves, 0
    earned = points_earned(spend=spend, earn_rate=read.loyalty.earn_rate)
    if earned:
        unit = read.loyalty.account.unit
        moves.append(
            Move(
                kind=Transfer.Kind.POSTED,
                debit=systems[(LedgerAccount.Kind.POINTS_EXPENSE, unit)],
                credit=read.loyalty.account,
                amount=Decimal(earned),
                code=Transfer.Code.EARN,
                reference=f"payment:{payment_id}",
                actor=actor,
            )
        )
    return moves, earned


def _payment_row(
    api_key: ApiKey,
    idempotency_key: str,
    read: _Read,
    values: dict[str, Any],
    basket: list[dict[str, Any]],
    payment_id: uuid.UUID,
    earned: int,
    now: datetime,
) -> dict[str, Any]:
    """The payment's row, as `payments.services.create._sell` makes it."""
    amount: Money = values["amount"]
    currency = amount.currency.code
    at = now.isoformat()
    return {
        "public_id": str(payment_id),
        "merchant_id": api_key.merchant_id,
        "store_id": api_key.store_id,
        "terminal_id": api_key.terminal_id,
        "api_key_id": api_key.pk,
        "idempotency_key": idempotency_key,
        "customer_id": read.customer_id,
        "channel": Payment.Channel.POS,
        "status": Payment.Status.CAPTURED,
        "amount_currency": currency,
        "amount": str(amount.amount),
        "captured_amount_currency": currency,
        "captured_amount": str(amount.amount),
        "refunded_amount_currency": currency,
        "refunded_amount": "0",
        "capture_requested": True,
        "points_earned": earned,
        "external_reference": values["external_reference"],
        "basket": basket,
        "failure_code": "",
        "failure_detail": "",
        "created_at": at,
        "occurred_at": None,
        "offline": False,
        "offline_late": False,
        "updated_at": at,
        "authorized_at": at,
        "captured_at": at,
        "voided_at": None,
        "expires_at": at,
    }


def _answer(
    api_key: ApiKey,
    read: _Read,
    payment: dict[str, Any],
    tenders: list[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """The answer, as `PaymentOutput` renders the payment."""
    assert api_key.terminal is not None
    currency = payment["amount_currency"]
    total = money_json(Money(payment["amount"], currency))
    nothing = money_json(Money(0, currency))
    at = _DATETIME.to_representation(now)
    return {
        "id": payment["public_id"],
        "status": payment["status"],
        "channel": payment["channel"],
        "amount": total,
        "captured_amount": total,
        "refunded_amount": nothing,
        "customer": read.customer_public_id,
        "store": api_key.terminal.store.code,
        "terminal": api_key.terminal.code,
        "external_reference": payment["external_reference"],
        "created_at": at,
        "points_earned": payment["points_earned"],
        "failure_code": "",
        "failure_detail": "",
        "tenders": [
            {
                "id": t["public_id"],
                "sequence": t["sequence"],
                "method": t["method"],
                "status": t["status"],
                "amount": t["_money"],
                "captured_amount": t["_money"],
                "refunded_amount": nothing,
                "points": t["points"],
                "gift_card_last4": t["_card"].last4 if t["_card"] else None,
                "card_brand": None,
                "card_last4": None,
                "reference": t["external_reference"],
                "failure_code": "",
                "next_action": None,
            }
            for t in tenders
        ],
        "refunds": [],
        "occurred_at": None,
        "offline": False,
        "offline_late": False,
        "gift_cards": [],
        "authorized_at": at,
        "captured_at": at,
        "voided_at": None,
    }


def _lot(read: _Read, earned: int, now: datetime) -> dict[str, Any]:
    assert read.loyalty is not None
    days = read.loyalty.validity_days
    expires = (now + timedelta(days=days)).isoformat() if days is not None else None
    return {"account_id": read.loyalty.pk, "points": earned, "expires_at": expires}


def _plain(values: list[Any]) -> list[Any]:
    """A statement parameter array as JSON (decimals and ids as text, times in ISO)."""
    return [
        value.isoformat()
        if isinstance(value, datetime)
        else str(value)
        if isinstance(value, (Decimal, uuid.UUID))
        else value
        for value in values
    ]


def _write(call: dict[str, Any]) -> bool:
    """One call of `kassa_pos_sale`; False when it wrote nothing and the engine must run."""
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard, connection.cursor() as cursor:
            cursor.execute("SELECT kassa_pos_sale(%s::jsonb)", [json.dumps(call)])
            (written,) = cursor.fetchone()
    except IntegrityError:
        return False  # the key's payment exists: the engine finds it
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) == FALLBACK_SQLSTATE:
            return False
        raise
    return bool(written)
