"""Beat-scheduled privacy work (config.settings.base CELERY_BEAT_SCHEDULE). Idempotent."""

from celery import shared_task

from customers.services import customer_erasures_finish_pending, customers_retention_purge


@shared_task(name="customers.erasures_finish_pending")
def customers_erasures_finish_pending() -> int:
    """Finish erasures whose clean-up at Stripe failed (Stripe was out of reach)."""
    return customer_erasures_finish_pending()


@shared_task(name="customers.retention_purge")
def customers_retention_purge_task() -> dict[str, int]:
    return customers_retention_purge()
