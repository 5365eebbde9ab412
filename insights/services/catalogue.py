"""Products and purchases from captured payments: basket lines teach what a SKU is, and a
captured payment with a customer is a purchase of each of its lines; its refunds take their
share off those lines.

payments offers no post-capture hook, so `products_sync` (a periodic task) reads captured
payments past a watermark, and refunds completed past another; line keys make a re-read
harmless, and a line's refunded share is set from the payment's total refunded, not added.
A refund names an amount, not lines, so it is spread over the lines pro rata to their value:
each line loses that share of its spend and of its quantity, rounded down: an item leaves the
customer's history only when its line is refunded in full.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from customers.selectors import customer_survivor_id
from insights.models import Product, Purchase, Watermark
from merchants.models import Merchant
from payments.gift_card_lines import ITEM
from payments.models import Payment, Refund

SYNC_WATERMARK = "products_sync"
REFUNDS_WATERMARK = "refunds_sync"
CENTS = Decimal("0.01")
SYNC_BATCH = 500
SYNC_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Captures commit out of captured_at order by up to a transaction's length; re-read that much.
SYNC_OVERLAP = timedelta(minutes=5)

_Row = TypeVar("_Row", bound=models.Model)


@dataclass(frozen=True)
class ProductData:
    sku: str
    name: str = ""
    category: str = ""
    brand: str = ""
    price: Decimal | None = None
    currency: str = ""


def products_upsert(*, merchant: Merchant, products: list[ProductData]) -> int:
    """Create unknown SKUs and refresh known ones; blank fields never erase what is known."""
    latest = {product.sku: product for product in products}
    known = {
        row.sku: row for row in Product.objects.filter(merchant=merchant, sku__in=list(latest))
    }
    fields = ("name", "category", "brand", "currency")
    changed = []
    for sku, data in latest.items():
        row = known.get(sku) or Product(merchant=merchant, sku=sku)
        for name in fields:
            if getattr(data, name):
                setattr(row, name, getattr(data, name))
        if data.price is not None:
            row.last_price = data.price
        changed.append(row)
    Product.objects.bulk_create(
        changed,
        update_conflicts=True,
        unique_fields=["merchant", "sku"],
        update_fields=[*fields, "last_price", "updated_at"],
    )
    return len(changed)


def _price(line: dict[str, Any]) -> tuple[Decimal | None, str]:
    price = line.get("unit_price") or {}
    try:
        return Decimal(str(price["amount"])), str(price.get("currency", ""))
    except (KeyError, TypeError, InvalidOperation):
        return None, ""


def payment_lines_record(*, payment: Payment) -> int:
    """The payment's basket as products (always) and purchases (when it names a customer).

    A gift card sold or reloaded is stored value, not a product: it teaches nothing of taste.
    """
    lines = [
        line
        for line in payment.basket
        if isinstance(line, dict) and line.get("sku") and line.get("kind", ITEM) == ITEM
    ]
    customer_id = None
    if payment.customer_id is not None and payment.captured_at is not None:
        customer_id = customer_survivor_id(payment.customer_id)
    products = []
    purchases = []
    for index, line in enumerate(lines):
        price, currency = _price(line)
        products.append(
            ProductData(
                sku=str(line["sku"]), name=str(line.get("name", "")), price=price, currency=currency
            )
        )
        if customer_id is not None and payment.captured_at is not None:
            purchases.append(
                Purchase(
                    merchant_id=payment.merchant_id,
                    customer_id=customer_id,
                    sku=str(line["sku"]),
                    quantity=int(line.get("quantity") or 1),
                    unit_price=price,
                    currency=str(payment.captured_amount.currency) if price is not None else "",
                    occurred_at=payment.captured_at,
                    channel=payment.channel,
                    order_ref=payment.external_reference[:100],
                    line_key=f"payment:{payment.public_id}:{index}",
                )
            )
    products_upsert(merchant=payment.merchant, products=products)
    Purchase.objects.bulk_create(purchases, ignore_conflicts=True)
    if purchases:
        payment_refunds_apply(payment=payment)
    return len(purchases)


def payment_refunds_apply(*, payment: Payment) -> int:
    """Set each purchase line's refunded share from the payment's refunded total; lines set."""
    captured = payment.captured_amount.amount
    if captured <= 0:
        return 0
    share = min(payment.refunded_amount.amount / captured, Decimal(1))
    rows = list(
        Purchase.objects.filter(
            merchant_id=payment.merchant_id, line_key__startswith=f"payment:{payment.public_id}:"
        )
    )
    for row in rows:
        value = (row.unit_price or Decimal(0)) * row.quantity
        row.refunded_amount = (value * share).quantize(CENTS, rounding=ROUND_HALF_UP)
        row.refunded_quantity = int((row.quantity * share).to_integral_value(rounding=ROUND_DOWN))
    Purchase.objects.bulk_update(rows, ["refunded_amount", "refunded_quantity"])
    return len(rows)


def _watermark_sync(
    *,
    name: str,
    rows: QuerySet[_Row],
    field: str,
    handle: Callable[[list[_Row]], object],
    now: datetime,
) -> int:
    """Hand every row of `rows` with `field` in (watermark - overlap, now] to `handle`, in
    batches of `SYNC_BATCH` in (`field`, pk) order, each batch in its own transaction holding
    the watermark's lock; rows handled.

    Within a run the cursor is (`field`, pk), so a batch cut among rows sharing a timestamp
    resumes after the last row handled, not after the timestamp. The watermark keeps the
    timestamp only: the next run re-reads the overlap, which the handlers make harmless.
    """
    read = 0
    cursor: tuple[datetime, int] | None = None
    while True:
        with transaction.atomic():
            mark, _ = Watermark.objects.select_for_update().get_or_create(
                name=name, defaults={"value": SYNC_EPOCH}
            )
            if cursor is None:
                after = Q(**{f"{field}__gt": mark.value - SYNC_OVERLAP})
            else:
                after = Q(**{f"{field}__gt": cursor[0]}) | Q(
                    **{field: cursor[0], "pk__gt": cursor[1]}
                )
            batch = list(
                rows.filter(after, **{f"{field}__lte": now}).order_by(field, "pk")[:SYNC_BATCH]
            )
            handle(batch)
            if batch:
                cursor = (getattr(batch[-1], field), batch[-1].pk)
                if cursor[0] > mark.value:
                    mark.value = cursor[0]
                    mark.save(update_fields=["value"])
        read += len(batch)
        if len(batch) < SYNC_BATCH:
            return read


def _refunds_apply(batch: list[Refund]) -> None:
    for payment in {refund.payment_id: refund.payment for refund in batch}.values():
        payment_refunds_apply(payment=payment)


def _payments_record(batch: list[Payment]) -> None:
    for payment in batch:
        payment_lines_record(payment=payment)


def refunds_sync(*, now: datetime | None = None) -> int:
    """Apply every refund completed since the watermark to its payment's lines; refunds read."""
    return _watermark_sync(
        name=REFUNDS_WATERMARK,
        rows=Refund.objects.select_related("payment").filter(status=Refund.Status.SUCCEEDED),
        field="completed_at",
        handle=_refunds_apply,
        now=now or timezone.now(),
    )


def products_sync(*, now: datetime | None = None) -> int:
    """Record every payment captured since the watermark; the number of payments read."""
    return _watermark_sync(
        name=SYNC_WATERMARK,
        rows=Payment.objects.select_related("merchant").filter(captured_at__isnull=False),
        field="captured_at",
        handle=_payments_record,
        now=now or timezone.now(),
    )
