"""Periodic work: read captured payments into products and purchases, retrain the offers,
evaluate rule segments and learn clusters."""

from celery import shared_task

from insights.services import (
    offers_train,
    products_sync,
    refunds_sync,
    segments_evaluate,
    segments_learn,
)
from merchants.models import Merchant


@shared_task(name="insights.products_sync")
def products_sync_task() -> int:
    """Captured payments, then refunds (a refund of a payment read in the same run applies)."""
    return products_sync() + refunds_sync()


@shared_task(name="insights.offers_train")
def offers_train_task() -> int:
    """Idempotent: every run replaces the precomputed rows."""
    products_sync()
    refunds_sync()
    return sum(offers_train(merchant=merchant) for merchant in Merchant.objects.all())


@shared_task(name="insights.segments_train")
def segments_train_task() -> int:
    """Learn clusters and evaluate rule segments for every merchant; memberships written."""
    written = 0
    for merchant in Merchant.objects.all():
        learned = segments_learn(merchant=merchant)
        written += len(learned.labels)
        written += sum(segments_evaluate(merchant=merchant).values())
    return written
