"""Voiding an authorised (or 3-D Secure waiting) payment whole."""

from django.db import transaction

from payments.errors import PaymentStateConflict
from payments.events import payment_event_record
from payments.lock_objects import lock_payment, payment_tenders
from payments.models import Payment
from payments.services.common import release_all, release_cards


def payment_void(*, payment: Payment, actor: str, reason: str = "requested") -> Payment:
    """Release an authorised (or 3-D Secure waiting) payment whole: cancel card
    authorisations, void every hold."""
    voidable = (Payment.Status.AUTHORIZED, Payment.Status.REQUIRES_ACTION, Payment.Status.VOIDING)
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status == Payment.Status.VOIDED:
            return payment
        if payment.status not in voidable:
            raise PaymentStateConflict(meta={"status": payment.status})
        payment.status = Payment.Status.VOIDING
        payment.save(update_fields=["status", "updated_at"])
        payment_event_record(
            payment=payment, type="payment.voiding", actor=actor, data={"reason": reason}
        )
    return finish_void(payment, reason=reason, actor=actor)


def finish_void(payment: Payment, *, reason: str, actor: str) -> Payment:
    release_cards(payment_tenders(payment))
    return release_all(
        payment,
        from_statuses=(Payment.Status.VOIDING,),
        to_status=Payment.Status.VOIDED,
        reason=reason,
        event={"reason": reason},
        actor=actor,
    )
