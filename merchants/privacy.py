"""Personal data the merchants app may hold without knowing whose it is: the stored answers of
idempotent requests (`IdempotencyRecord.response_body`) can echo what a request carried (an
order reference naming the customer). customers' erasure calls `idempotency_records_redact`
with the person's values; merchants knows nothing of customers (it is below them)."""

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Q, TextField
from django.db.models.functions import Cast

from merchants.models import IdempotencyRecord


def idempotency_records_redact(
    *, merchant_id: int, needles: Sequence[str], redact: Callable[[Any], Any]
) -> int:
    """Rewrite every stored answer of the merchant's keys that mentions one of `needles`."""
    if not needles:
        return 0
    condition = Q()
    for needle in needles:
        condition |= Q(body_text__icontains=needle)
    matching = (
        IdempotencyRecord.objects.annotate(body_text=Cast("response_body", TextField()))
        .filter(condition, api_key__merchant_id=merchant_id)
        .values("pk")
    )
    count = 0
    for record in (
        IdempotencyRecord.objects.select_for_update(of=("self",))
        .filter(pk__in=matching)
        .order_by("pk")
    ):
        record.response_body = redact(record.response_body)
        record.save(update_fields=["response_body"])
        count += 1
    return count
