"""3-D Secure: a payment waiting in `requires_action` concluded once the cardholder is done."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from config.errors import CardDeclined, KassaError
from payments import stripe_gateway
from payments.errors import (
    AuthenticationPending,
    CardAuthenticationFailed,
    PaymentStateConflict,
)
from payments.lock_objects import payment_tenders
from payments.models import Payment, Tender
from payments.services.authorize import conclude
from payments.services.create import capture_if_requested


def payment_confirm(*, payment: Payment, actor: str) -> Payment:
    """Conclude a payment that waited for 3-D Secure, once the shop's Stripe.js step is done.

    All cards authorised → `authorized` (and captured if the request asked); one failed its
    authentication → the whole payment fails (`PaymentFailed`); one still waiting →
    `authentication_pending`, the payment keeps waiting.
    """
    if payment.status == Payment.Status.REQUIRES_ACTION:
        payment = _refresh_waiting_cards(payment)
    if payment.status != Payment.Status.REQUIRES_ACTION:
        raise PaymentStateConflict(meta={"status": payment.status})
    payment = conclude(payment, actor=actor)
    if payment.status == Payment.Status.REQUIRES_ACTION:
        raise AuthenticationPending(meta={"payment": str(payment.public_id)})
    return capture_if_requested(payment, actor=actor)


def payment_authentication_settle(*, payment: Payment, actor: str) -> Payment:
    """`payment_confirm` for Stripe's webhook and recovery: the outcome, without a refusal."""
    if payment.status == Payment.Status.REQUIRES_ACTION:
        payment = _refresh_waiting_cards(payment)
    if payment.status != Payment.Status.REQUIRES_ACTION:
        return payment
    try:
        payment = conclude(payment, actor=actor)
        return capture_if_requested(payment, actor=actor)
    except KassaError:
        return Payment.objects.get(pk=payment.pk)


def _refresh_waiting_cards(payment: Payment) -> Payment:
    """Ask Stripe (outside any transaction) about every card waiting for 3-D Secure; the
    payment is read again after, since a void or another conclusion may have run meanwhile."""
    for tender in payment_tenders(payment).filter(status=Tender.Status.REQUIRES_ACTION):
        state = stripe_gateway.intent_retrieve(tender.stripe_payment_intent_id)
        waiting = Tender.objects.filter(pk=tender.pk, status=Tender.Status.REQUIRES_ACTION)
        if state.authorized:
            waiting.update(status=Tender.Status.AUTHORIZED)
        elif state.authentication_failed:
            waiting.update(
                status=Tender.Status.FAILED,
                failure_code=CardAuthenticationFailed.code,
                failure_detail=CardAuthenticationFailed.default_detail,
            )
        elif state.status in ("requires_payment_method", "canceled"):
            waiting.update(
                status=Tender.Status.FAILED,
                failure_code=CardDeclined.code,
                failure_detail=f"Not authorised ({state.decline_code or state.status}).",
            )
    return Payment.objects.get(pk=payment.pk)


def authentication_timed_out(payment: Payment) -> bool:
    """Waited longer than a cardholder takes for 3-D Secure: recovery may end it."""
    timeout = timedelta(minutes=settings.KASSA_3DS_TIMEOUT_MINUTES)
    return payment.updated_at <= timezone.now() - timeout
