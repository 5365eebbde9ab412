import logging

from celery import shared_task

from config.errors import KassaError
from payments import webhooks
from payments.models import Payment, StripeEvent
from payments.services import payment_recover, payments_needing_recovery

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def stripe_event_process(event_id: int) -> None:
    webhooks.stripe_event_process(event=StripeEvent.objects.get(pk=event_id))


@shared_task(acks_late=True)
def payment_recover_one(payment_id: int) -> str:
    return payment_recover(payment=Payment.objects.get(pk=payment_id)).status


@shared_task
def payments_recover_stuck() -> dict[str, int]:
    """Beat task: finish or roll back every payment stuck mid-way, void expired authorisations.

    Each payment is recovered on its own; one that still cannot reach Stripe is retried on the
    next run.
    """
    outcome: dict[str, int] = {}
    for payment in payments_needing_recovery():
        try:
            status = payment_recover(payment=payment).status
        except KassaError as error:
            logger.warning("payment %s not recovered yet: %s", payment.public_id, error.code)
            status = "retry_later"
        outcome[status] = outcome.get(status, 0) + 1
    return outcome
