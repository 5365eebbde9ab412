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
import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from moneyed import Money

from config.actors import api_key_actor
from config.errors import KassaError
from merchants.models import ApiKey
from payments.gift_card_lines import ITEM
from payments.models import Payment, Tender
from payments.planning import plan_tenders
from payments.services.sale_fast import read as reading
from payments.services.sale_fast.read import NotCovered, SaleRead
from payments.services.sale_fast.rows import (
    lot_row,
    payment_row,
    plain,
    sale_answer,
    sale_moves,
    source_of,
    tender_row,
)
from wallet.ledger import ledger_params

FALLBACK_SQLSTATE = "KA001"  # raised by kassa_pos_sale: something changed, run the engine
_METHODS = {
    Tender.Method.GIFT_CARD,
    Tender.Method.LOYALTY_POINTS,
    Tender.Method.CASH,
    Tender.Method.EXTERNAL_CARD,
}
_REQUEST_KEYS = {"amount", "customer", "external_reference", "basket", "tenders", "capture"}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Planned:
    """The sale as the engine would write it, not yet written."""

    read: SaleRead
    tenders: list[dict[str, Any]]
    payment: dict[str, Any]
    ledger: dict[str, Any]
    earn_transfer: str | None
    earned: int
    actor: str


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
    now = timezone.now()
    try:
        planned = _plan(api_key, idempotency_key, values, basket, now)
    except (NotCovered, KassaError):
        return None
    body = sale_answer(api_key, planned.read, planned.payment, planned.tenders, now)
    call = {
        "at": now.isoformat(),
        "customer_id": planned.read.customer_id,
        "idempotency": {
            "api_key_id": api_key.pk,
            "key": record_key,
            "fingerprint": fingerprint,
            "body": body,
        },
        "earning": {
            "merchant_id": api_key.merchant_id,
            "currency": planned.payment["amount_currency"],
            "loyalty_id": planned.read.loyalty.pk if planned.read.loyalty else None,
        },
        "ledger": planned.ledger,
        "payment": planned.payment,
        "tenders": [{k: v for k, v in t.items() if not k.startswith("_")} for t in planned.tenders],
        "event": {
            "type": "payment.captured",
            "actor": planned.actor,
            "data": {
                "tenders": [
                    {"sequence": t["sequence"], "method": t["method"], **t["_money"]}
                    for t in planned.tenders
                ],
                "points_earned": planned.earned,
            },
        },
        "earn_transfer": planned.earn_transfer,
        "lot": lot_row(planned.read, planned.earned, now) if planned.earned else None,
    }
    return body if _write(call) else None


def _covered(api_key: ApiKey, values: dict[str, Any]) -> None:
    if api_key.scope != ApiKey.Scope.TERMINAL or api_key.terminal is None:
        raise NotCovered
    if values.keys() - _REQUEST_KEYS - {"channel", "offline"} or values.get("offline"):
        raise NotCovered
    if not values.get("capture") or not values.get("customer"):
        raise NotCovered
    if any(line.get("kind", ITEM) != ITEM for line in values["basket"]):
        raise NotCovered
    for tender in values["tenders"]:
        if tender["method"] not in _METHODS or "code" in tender:
            raise NotCovered


def _plan(
    api_key: ApiKey,
    idempotency_key: str,
    values: dict[str, Any],
    basket: list[dict[str, Any]],
    now: datetime,
) -> _Planned:
    """Read, check and plan as the engine does; raises what makes the engine answer instead."""
    _covered(api_key, values)
    amount: Money = values["amount"]
    currency = amount.currency.code
    requested = values["tenders"]
    read = reading.sale_read(api_key, values, currency, now)
    plan = plan_tenders(
        amount=amount,
        channel=Payment.Channel.POS,
        sources=[source_of(read, i, t, currency, now) for i, t in enumerate(requested)],
    )
    actor = api_key_actor(api_key)
    payment_id = uuid.uuid4()
    tenders = [
        tender_row(read, planned, requested, sequence)
        for sequence, planned in enumerate(plan, start=1)
    ]
    moves, earned = sale_moves(api_key, read, tenders, payment_id, actor, currency)
    params, transfers, _ = ledger_params(moves, now=now) if moves else ({}, [], {})
    # the moves are the charging tenders' in order, then the earn (`sale_moves`)
    charging = (t for t in tenders if t["_charges"] is not None)
    for tender, transfer in zip(charging, transfers, strict=False):
        tender["transfer"] = str(transfer.public_id)
    return _Planned(
        read=read,
        tenders=tenders,
        payment=payment_row(
            api_key, idempotency_key, read, values, basket, payment_id, earned, now
        ),
        ledger={name: plain(value) for name, value in params.items() if name != "now"},
        earn_transfer=str(transfers[-1].public_id) if earned else None,
        earned=earned,
        actor=actor,
    )


def _write(call: dict[str, Any]) -> bool:
    """One call of `kassa_pos_sale`; False when it wrote nothing and the engine must run."""
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard, connection.cursor() as cursor:
            cursor.execute("SELECT kassa_pos_sale(%s::jsonb)", [json.dumps(call)])
            (written,) = cursor.fetchone()
    except IntegrityError as error:
        if _constraint(error) != "payment_idempotency_unique":  # else: the engine finds it
            # A row the function built wrong (a column added to a table it writes, and the
            # function not updated): the engine still serves the sale; say so loudly.
            logger.exception("kassa_pos_sale refused its own rows; the engine served the sale")
        return False
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) == FALLBACK_SQLSTATE:
            return False
        raise
    return bool(written)


def _constraint(error: DatabaseError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
