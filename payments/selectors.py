import uuid
from datetime import datetime
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Prefetch, QuerySet, Sum
from moneyed import Money

from customers.models import Customer
from merchants.models import ApiKey
from payments.errors import PaymentNotFound
from payments.models import Payment, Tender


def _with_details(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    """Everything the payment's representation shows (three queries before any refund)."""
    return payments.select_related("customer", "store", "terminal").prefetch_related(
        Prefetch("tenders", queryset=Tender.objects.select_related("gift_card", "bank_card")),
        "refunds__allocations__tender",
    )


def _visible_to(api_key: ApiKey) -> QuerySet[Payment]:
    """What a key may see: a till its own store's payments, other keys their merchant's."""
    payments = Payment.objects.filter(merchant_id=api_key.merchant_id)
    if api_key.scope == ApiKey.Scope.TERMINAL:
        assert api_key.terminal is not None
        payments = payments.filter(store_id=api_key.terminal.store_id)
    return payments


def payments_for_api_key(*, api_key: ApiKey) -> QuerySet[Payment]:
    return _with_details(_visible_to(api_key))


def payment_detail(*, payment_id: int) -> Payment:
    return _with_details(Payment.objects.filter(pk=payment_id)).get()


def payment_get_for_api_key(
    *, api_key: ApiKey, public_id: uuid.UUID | str, details: bool = True
) -> Payment:
    """The payment if this key may see it; `details=False` for operations that lock and re-read
    it anyway (capture, void, refund)."""
    payments = payments_for_api_key(api_key=api_key) if details else _visible_to(api_key)
    try:
        return payments.get(public_id=public_id)
    except (Payment.DoesNotExist, ValidationError) as error:
        raise PaymentNotFound(field="payment") from error


def payment_list(
    *,
    api_key: ApiKey,
    reference: str | None = None,
    status: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    terminal: str | None = None,
) -> QuerySet[Payment]:
    """Payment summaries (`tender_count`, `tender_methods`) in one query, tenders unread."""
    payments = (
        _visible_to(api_key)
        .select_related("customer", "store", "terminal")
        .annotate(
            tender_count=Count("tenders"),
            tender_methods=ArrayAgg(
                "tenders__method", distinct=True, order_by="tenders__method", default=[]
            ),
        )
    )
    if reference:
        payments = payments.filter(external_reference=reference)
    if status:
        payments = payments.filter(status=status)
    if created_from:
        payments = payments.filter(created_at__gte=created_from)
    if created_to:
        payments = payments.filter(created_at__lt=created_to)
    if terminal:
        payments = payments.filter(terminal__public_id=terminal)
    return payments


def customer_purchase_summary(*, customer: Customer) -> list[dict[str, Any]]:
    """Captured spending per channel and currency, net of refunds, across every store."""
    rows = (
        Payment.objects.filter(customer=customer, status=Payment.Status.CAPTURED)
        .values("channel", "amount_currency")
        .annotate(
            payments=Count("pk"),
            captured=Sum("captured_amount"),
            refunded=Sum("refunded_amount"),
            stores=Count("store", distinct=True),
            points_earned=Sum("points_earned"),
            last_purchase_at=Max("captured_at"),
        )
        .order_by("channel", "amount_currency")
    )
    return [
        {
            "channel": row["channel"],
            "payments": row["payments"],
            "spent": Money(row["captured"] - row["refunded"], row["amount_currency"]),
            "refunded": Money(row["refunded"], row["amount_currency"]),
            "stores": row["stores"],
            "points_earned": row["points_earned"],
            "last_purchase_at": row["last_purchase_at"],
        }
        for row in rows
    ]
