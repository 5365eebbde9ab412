"""Retention of the merchants app's records (called by customers' retention run)."""

from datetime import datetime

from merchants.models import IdempotencyRecord


def idempotency_records_purge(*, before: datetime) -> int:
    """Delete completed idempotency records created before `before`; how many.

    A client retrying with the same key after that runs the request again: the window must
    outlive every client's retry horizon (tills replay offline sales for days).
    """
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=before, status=IdempotencyRecord.Status.COMPLETED
    ).delete()
    return deleted
