"""The fast sale's one read: the customer, the till's grant, the gift cards named and the
primary loyalty account with its programme, in one statement."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from customers.models import CustomerAccessGrant, Strength
from merchants.models import ApiKey
from wallet.models import LedgerAccount

_READ = """
SELECT c.id, c.public_id, c.merged_into_id IS NULL AND c.erased_at IS NULL,
    g.expires_at, g.loyalty_strong_until, g.wallet_strong_until,
    ARRAY(SELECT ARRAY[gc.public_id::text, gc.id::text, gc.account_id::text, a.unit,
            gc.status, gc.expires_at::text, gc.code_last4,
            (a.credits_posted - a.debits_posted - a.debits_pending)::text, a.merchant_id::text]
        FROM wallet_giftcard gc JOIN wallet_ledgeraccount a ON a.id = gc.account_id
        WHERE gc.customer_id = c.id AND gc.public_id = ANY(%(cards)s::uuid[])),
    (SELECT ARRAY[la.id::text, la.account_id::text, a.unit,
            (a.credits_posted - a.debits_posted - a.debits_pending)::text, p.currency,
            p.earn_rate::text, p.point_value::text, p.points_validity_days::text,
            a.merchant_id::text]
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


class NotCovered(Exception):
    """The request leaves the fast path: the general engine answers it."""


@dataclass(frozen=True)
class Card:
    public_id: str
    pk: int
    account: LedgerAccount
    status: str
    expires_at: datetime | None
    last4: str


@dataclass(frozen=True)
class Loyalty:
    pk: int
    account: LedgerAccount
    currency: str
    earn_rate: Decimal
    point_value: Decimal
    validity_days: int | None


@dataclass(frozen=True)
class SaleRead:
    customer_id: int
    customer_public_id: str
    strength: Strength | None
    cards: dict[str, Card]
    loyalty: Loyalty | None


def sale_read(api_key: ApiKey, values: dict[str, Any], currency: str, now: datetime) -> SaleRead:
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
        raise NotCovered
    customer_id, public_id, _, grant_expires, loyalty_until, wallet_until, card_rows, loyalty = row
    strength = None
    if grant_expires is not None:
        grant = CustomerAccessGrant(
            expires_at=grant_expires,
            loyalty_strong_until=loyalty_until,
            wallet_strong_until=wallet_until,
        )
        strength = grant.strength_at(now)
    return SaleRead(
        customer_id=customer_id,
        customer_public_id=str(public_id),
        strength=strength,
        cards={card.public_id: card for card in map(_card, card_rows)},
        loyalty=_loyalty(loyalty) if loyalty else None,
    )


def _account(pk: str, unit: str, available: str, merchant: str) -> LedgerAccount:
    """The instrument's ledger account as the moves need it (its own merchant and unit, which
    the ledger's checks compare); `available` is all the planner reads of its counters (the
    write re-checks the funds under its lock)."""
    return LedgerAccount(
        pk=int(pk),
        merchant_id=int(merchant),
        unit=unit,
        is_system=False,
        credits_posted=Decimal(available),
        debits_posted=Decimal(0),
        debits_pending=Decimal(0),
    )


def _card(row: list[Any]) -> Card:
    public_id, pk, account, unit, status, expires_at, last4, available, merchant = row
    return Card(
        public_id=str(uuid.UUID(public_id)),
        pk=int(pk),
        account=_account(account, unit, available, merchant),
        status=status,
        expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
        last4=last4 or "",
    )


def _loyalty(row: list[Any]) -> Loyalty:
    pk, account, unit, available, currency, earn_rate, point_value, validity, merchant = row
    return Loyalty(
        pk=int(pk),
        account=_account(account, unit, available, merchant),
        currency=currency,
        earn_rate=Decimal(earn_rate),
        point_value=Decimal(point_value),
        validity_days=int(validity) if validity is not None else None,
    )


def require(read: SaleRead, strength: Strength) -> None:
    """At least `strength` through the till's grant, as `ResolveContext.require` asks."""
    if read.strength is None or read.strength < strength:
        raise NotCovered
