"""The history import: past purchases from a CSV, streamed in batches.

Each batch is one transaction (all its good lines land, or none). Every line has a key made of
its content, so importing the same file again adds nothing. A bad line is reported with its
line number and reason and skipped; the others are imported. A `customer_ref` is an identifier
(`identifier_kind`, default `pos_customer`); an unknown one creates the customer, as a till
presenting it would.
"""

import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from config import limits
from config.errors import KassaError
from customers.models import Channel, Identifier
from customers.normalisation import IdentifierKind, identifier_normalise
from customers.policy import PresentedIdentifier
from customers.services import customer_identify
from insights.models import Purchase
from insights.services.catalogue import ProductData, products_upsert
from merchants.models import Merchant

REQUIRED = ("customer_ref", "occurred_at", "sku", "quantity")
BATCH_SIZE = 500
# Longest accepted value per text column (the model's column sizes).
TEXT_LIMITS = {
    "customer_ref": 320,
    "sku": 64,
    "order_ref": 100,
    "channel": 16,
    "store": 40,
    "product_name": 200,
    "category": 100,
}


class HistoryFileInvalid(ValueError):
    """The file as a whole cannot be read (no header, a required column missing)."""


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    lines: int = 0


@dataclass(frozen=True)
class _Row:
    line: int
    kind: str
    ref: str
    occurred_at: datetime
    sku: str
    quantity: int
    values: dict[str, str]
    unit_price: Decimal | None

    @property
    def key(self) -> str:
        parts = (
            self.kind,
            self.ref,
            self.occurred_at.isoformat(),
            self.sku,
            str(self.quantity),
            self.values["order_ref"],
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _parse(line: int, raw: dict[str, Any], now: datetime) -> _Row:
    """The row, or ValueError with the reason."""
    if None in raw:
        raise ValueError("more values than columns")
    values = {name: (raw.get(name) or "").strip() for name in raw}
    for name in REQUIRED:
        if not values.get(name):
            raise ValueError(f"{name} is missing")
    for name, longest in TEXT_LIMITS.items():
        values.setdefault(name, "")
        if len(values[name]) > longest:
            raise ValueError(f"{name} is longer than {longest} characters")
    kind = values.get("identifier_kind") or IdentifierKind.POS_CUSTOMER
    if kind not in IdentifierKind.ALL:
        raise ValueError(f"identifier_kind {kind!r} is unknown")
    try:
        ref = identifier_normalise(kind=kind, value=values["customer_ref"])
    except KassaError as error:
        raise ValueError(f"customer_ref: {error.detail}") from error
    try:
        occurred_at = datetime.fromisoformat(values["occurred_at"])
    except ValueError as error:
        raise ValueError("occurred_at is not an ISO 8601 date and time") from error
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    if occurred_at > now:
        raise ValueError("occurred_at is in the future")
    if not values["quantity"].isdigit() or not 1 <= int(values["quantity"]) <= limits.MAX_QUANTITY:
        raise ValueError(f"quantity must be a whole number from 1 to {limits.MAX_QUANTITY}")
    unit_price = None
    if values.get("unit_price"):
        try:
            unit_price = Decimal(values["unit_price"])
        except InvalidOperation as error:
            raise ValueError("unit_price is not a number") from error
        if not unit_price.is_finite() or not 0 <= unit_price <= limits.MAX_AMOUNT:
            raise ValueError(f"unit_price must be from 0 to {limits.MAX_AMOUNT}")
        unit_price = unit_price.quantize(Decimal("0.01"))
        currency = values.get("currency", "")
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError("currency must be a three-letter code when unit_price is given")
        values["currency"] = currency.upper()
    return _Row(
        line, kind, ref, occurred_at, values["sku"], int(values["quantity"]), values, unit_price
    )


def _batches(rows: Iterable[_Row], size: int) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _customer_ids(
    merchant: Merchant, rows: list[_Row], report: ImportReport
) -> dict[tuple[str, str], int]:
    """Customer per (kind, ref); a ref the customers app refuses rejects its lines."""
    wanted = {(row.kind, row.ref) for row in rows}
    found = {
        (kind, value): customer_id
        for kind, value, customer_id in Identifier.objects.filter(
            merchant=merchant,
            removed_at__isnull=True,
            kind__in={kind for kind, _ in wanted},
            value__in={value for _, value in wanted},
        ).values_list("kind", "value", "customer_id")
    }
    for kind, value in sorted(wanted - set(found)):
        try:
            identification = customer_identify(
                merchant=merchant,
                identifiers=[PresentedIdentifier(kind, value)],
                channel=Channel.BACK_OFFICE,
            )
        except KassaError as error:
            refused = error.detail
        else:
            if identification.customer is not None:
                found[(kind, value)] = identification.customer.pk
                continue
            refused = "no customer could be created for it"
        report.rejected += [
            (row.line, f"customer_ref: {refused}")
            for row in rows
            if (row.kind, row.ref) == (kind, value)
        ]
    return found


def _import_batch(merchant: Merchant, batch: list[_Row], report: ImportReport) -> None:
    with transaction.atomic():
        existing = set(
            Purchase.objects.filter(
                merchant=merchant, line_key__in=[row.key for row in batch]
            ).values_list("line_key", flat=True)
        )
        fresh = {row.key: row for row in batch if row.key not in existing}
        report.duplicates += len(batch) - len(fresh)
        if not fresh:
            return
        customers = _customer_ids(merchant, list(fresh.values()), report)
        fresh = {key: row for key, row in fresh.items() if (row.kind, row.ref) in customers}
        products_upsert(
            merchant=merchant,
            products=[
                ProductData(
                    sku=row.sku,
                    name=row.values.get("product_name", ""),
                    category=row.values.get("category", ""),
                    price=row.unit_price,
                    currency=row.values.get("currency", "") if row.unit_price else "",
                )
                for row in fresh.values()
            ],
        )
        Purchase.objects.bulk_create(
            [
                Purchase(
                    merchant=merchant,
                    customer_id=customers[(row.kind, row.ref)],
                    sku=row.sku,
                    quantity=row.quantity,
                    unit_price=row.unit_price,
                    currency=row.values.get("currency", "") if row.unit_price is not None else "",
                    occurred_at=row.occurred_at,
                    channel=row.values["channel"],
                    order_ref=row.values["order_ref"],
                    line_key=key,
                )
                for key, row in fresh.items()
            ],
            ignore_conflicts=True,
        )
        report.imported += len(fresh)


def history_import(
    *,
    merchant: Merchant,
    lines: Iterable[str],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a history CSV read line by line; the report lists every rejected line."""
    reader = csv.DictReader(lines)
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise HistoryFileInvalid(f"required columns missing: {', '.join(missing)}")
    report = ImportReport()
    now = timezone.now()

    def good_rows() -> Iterator[_Row]:
        for raw in reader:
            report.lines += 1
            try:
                yield _parse(reader.line_num, raw, now)
            except ValueError as error:
                report.rejected.append((reader.line_num, str(error)))

    for batch in _batches(good_rows(), batch_size):
        _import_batch(merchant, batch, report)
        if progress is not None:
            progress(report)
    report.rejected.sort()
    return report
