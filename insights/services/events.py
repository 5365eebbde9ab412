"""Touchpoint events: kept tied to a person only with their `personalisation` consent.

An event names a customer (id), identifiers, or only an anonymous device id. A device that
identifies (an event carrying a device id and a customer) is linked to the customer, and its
earlier anonymous events move to them (with consent). Events of a known customer without
consent are only counted per day and kind; events of nobody known stay anonymous.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from django.db import connection, transaction

from config.errors import KassaError
from customers.models import ConsentPurpose, Customer, Identifier
from customers.normalisation import identifier_normalise
from customers.selectors import customer_survivor
from customers.services import consent_allows
from insights.models import DeviceLink, Touchpoint
from merchants.models import Merchant


@dataclass(frozen=True)
class Event:
    kind: str
    occurred_at: datetime
    customer: UUID | None = None
    identifiers: tuple[tuple[str, str], ...] = ()
    device_id: str = ""
    sku: str = ""
    detail: str = ""


@dataclass
class EventsOutcome:
    stored: int = 0
    counted: int = 0
    anonymous: int = 0
    stitched: int = 0


class _Resolver:
    """Customers and their consent, looked up once per batch."""

    def __init__(self, merchant: Merchant) -> None:
        self.merchant = merchant
        self.consent: dict[int, bool] = {}

    def by_id(self, public_id: UUID) -> Customer | None:
        customer = Customer.objects.filter(merchant=self.merchant, public_id=public_id).first()
        return self._live(customer)

    def by_identifiers(self, identifiers: tuple[tuple[str, str], ...]) -> Customer | None:
        for kind, raw in identifiers:
            try:
                value = identifier_normalise(kind=kind, value=raw)
            except KassaError:
                continue
            match = (
                Identifier.objects.select_related("customer")
                .filter(merchant=self.merchant, kind=kind, value=value, removed_at__isnull=True)
                .first()
            )
            if match is not None:
                return self._live(match.customer)
        return None

    def by_device(self, device_id: str) -> Customer | None:
        link = (
            DeviceLink.objects.select_related("customer")
            .filter(merchant=self.merchant, device_id=device_id)
            .first()
        )
        return None if link is None else self._live(link.customer)

    def _live(self, customer: Customer | None) -> Customer | None:
        if customer is None:
            return None
        customer = customer_survivor(customer)
        return None if customer.erased_at is not None else customer

    def allows(self, customer: Customer) -> bool:
        if customer.pk not in self.consent:
            self.consent[customer.pk] = consent_allows(
                customer=customer, purpose=ConsentPurpose.PERSONALISATION
            )
        return self.consent[customer.pk]


def _stitch(merchant: Merchant, device_id: str, customer: Customer, consented: bool) -> int:
    """Link the device; move its anonymous events to the customer if they consented."""
    DeviceLink.objects.update_or_create(
        merchant=merchant, device_id=device_id, defaults={"customer": customer}
    )
    if not consented:
        return 0
    return Touchpoint.objects.filter(
        merchant=merchant, device_id=device_id, customer__isnull=True
    ).update(customer=customer)


@transaction.atomic
def events_record(*, merchant: Merchant, events: list[Event]) -> EventsOutcome:
    """Record a batch of events; what happened to them, in counts."""
    resolver = _Resolver(merchant)
    outcome = EventsOutcome()
    counts: Counter[tuple[date, str]] = Counter()
    rows = []
    for event in events:
        named = None
        if event.customer is not None:
            named = resolver.by_id(event.customer)
        elif event.identifiers:
            named = resolver.by_identifiers(event.identifiers)
        customer = named
        if named is not None and event.device_id:
            outcome.stitched += _stitch(merchant, event.device_id, named, resolver.allows(named))
        elif named is None and event.device_id and event.customer is None:
            customer = resolver.by_device(event.device_id)
        if customer is not None and not resolver.allows(customer):
            counts[(event.occurred_at.date(), event.kind)] += 1
            outcome.counted += 1
            continue
        outcome.stored += customer is not None
        outcome.anonymous += customer is None
        rows.append(
            Touchpoint(
                merchant=merchant,
                customer=customer,
                device_id=event.device_id,
                kind=event.kind,
                sku=event.sku,
                detail=event.detail,
                occurred_at=event.occurred_at,
            )
        )
    Touchpoint.objects.bulk_create(rows)
    for (day, kind), count in sorted(counts.items()):
        events_count(merchant=merchant, day=day, kind=kind, count=count)
    return outcome


def events_count(*, merchant: Merchant, day: date, kind: str, count: int) -> None:
    """Add `count` to the day's anonymous counter of `kind` (one upsert, safe under races)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO insights_eventcount (merchant_id, day, kind, count)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (merchant_id, day, kind)"
            " DO UPDATE SET count = insights_eventcount.count + EXCLUDED.count",
            [merchant.pk, day, kind, count],
        )
