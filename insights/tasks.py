"""Periodic work: read captured payments into products and purchases, retrain the offers."""

from celery import shared_task

from insights.services import offers_train, products_sync
from merchants.models import Merchant


@shared_task(name="insights.products_sync")
def products_sync_task() -> int:
    return products_sync()


@shared_task(name="insights.offers_train")
def offers_train_task() -> int:
    """Idempotent: every run replaces the precomputed rows."""
    products_sync()
    return sum(offers_train(merchant=merchant) for merchant in Merchant.objects.all())
