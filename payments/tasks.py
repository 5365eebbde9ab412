import logging

from celery import shared_task

from config.errors import KassaError
from payments import webhooks
from payments.models import StripeEvent
from payments.services.recovery import (
    payment_recover,
    payments_needing_recovery,
    refund_recover,
    refunds_needing_recovery,
)

logger = logging.getLogger(__name__)


@shared_task(name="payments.stripe_event_process", acks_late=True)
def stripe_event_process(event_id: int) -> None:
    webhooks.stripe_event_process(event=StripeEvent.objects.get(pk=event_id))


@shared_task(name="payments.stripe_events_sweep")
def stripe_events_sweep() -> dict[str, int]:
    """Beat task: apply stored events nobody applied (the task was lost, or its process died and
    its claim ended), so none waits for a redelivery Stripe may never send.

    Each one is processed on its own; one that fails is released and retried on the next run.
    """
    outcome: dict[str, int] = {}
    for event in webhooks.stripe_events_stranded():
        try:
            status = "processed" if webhooks.stripe_event_process(event=event) else "skipped"
        except Exception:
            logger.exception("Stripe event %s not processed yet", event.event_id)
            status = "retry_later"
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


@shared_task(name="payments.recover_stuck")
def payments_recover_stuck() -> dict[str, int]:
    """Beat task: finish or roll back every payment stuck mid-way, capture those whose requested
    capture never started, void expired authorisations, and finish refunds left pending.

    Each one is recovered on its own; one that still cannot reach Stripe is retried on the next
    run.
    """
    outcome: dict[str, int] = {}
    for payment in payments_needing_recovery():
        try:
            status = payment_recover(payment=payment).status
        except KassaError as error:
            logger.warning("payment %s not recovered yet: %s", payment.public_id, error.code)
            status = "retry_later"
        outcome[status] = outcome.get(status, 0) + 1
    for refund in refunds_needing_recovery():
        try:
            status = f"refund_{refund_recover(refund=refund).status}"
        except KassaError as error:
            logger.warning("refund %s not finished yet: %s", refund.public_id, error.code)
            status = "refund_retry_later"
        outcome[status] = outcome.get(status, 0) + 1
    return outcome
