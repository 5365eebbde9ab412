"""Periodic work: read captured payments into products and purchases, retrain the offers,
evaluate rule segments and learn clusters; and a launched campaign's vouchers."""

from celery import shared_task

from insights.models import Campaign
from insights.services import (
    offers_train,
    products_sync,
    refunds_sync,
    segments_evaluate,
    segments_learn,
)
from insights.services.campaigns import campaign_vouchers_issue
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


@shared_task(name="insights.campaign_issue")
def campaign_issue_task(campaign_id: int) -> int:
    """The drawn campaign's vouchers, batch by batch; run again, it resumes where it stopped."""
    return campaign_vouchers_issue(campaign=Campaign.objects.get(pk=campaign_id))
