"""Retention of stored Stripe webhook payloads (called through payments' privacy handler)."""

from datetime import datetime

from payments.models import StripeEvent

PURGED: dict[str, object] = {}


def stripe_event_payloads_purge(*, before: datetime) -> int:
    """Empty the payload of processed events received before `before`; how many.

    The row (event id, type, times) stays, so a redelivered event is still recognised and
    acknowledged once; only Stripe's copy of the objects (names, emails, addresses) goes.
    """
    return (
        StripeEvent.objects.filter(received_at__lt=before, processed_at__isnull=False)
        .exclude(payload=PURGED)
        .update(payload=PURGED)
    )
