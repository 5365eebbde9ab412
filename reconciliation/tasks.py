"""Settlements computed by beat every night (yesterday in each store's zone) and on demand."""

from datetime import date

from celery import shared_task

from merchants.models import Merchant, Store
from reconciliation.services import settlement_compute, settlements_compute_day


@shared_task(name="reconciliation.settlements_compute_yesterday")
def settlements_compute_yesterday() -> int:
    """Every merchant's stores and web shop; reconciled rows are left as they are."""
    return sum(
        settlements_compute_day(merchant=merchant) for merchant in Merchant.objects.order_by("pk")
    )


@shared_task(name="reconciliation.settlement_compute")
def settlement_compute_task(merchant_id: int, store_id: int | None, business_day: str) -> int:
    """One store's (or, with no store, the web shop's) day, asked for from the back office."""
    merchant = Merchant.objects.get(pk=merchant_id)
    store = Store.objects.get(pk=store_id, merchant=merchant) if store_id is not None else None
    day = date.fromisoformat(business_day)
    return len(settlement_compute(merchant=merchant, store=store, business_day=day))
