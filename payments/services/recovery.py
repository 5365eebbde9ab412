"""Recovery: finish or roll back what a crash, an unreachable Stripe or a time-out left."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from config.errors import KassaError
from payments import stripe_gateway
from payments.errors import AuthorizationExpired
from payments.lock_objects import payment_tenders
from payments.models import Payment, Refund, Tender
from payments.services.authentication import authentication_timed_out, payment_authentication_settle
from payments.services.authorize import can_authenticate, conclude, record_intent
from payments.services.capture import finish_capture
from payments.services.common import RECOVERY_ACTOR, STUCK_AFTER
from payments.services.create import capture_if_requested
from payments.services.refund import finish_refund
from payments.services.void import finish_void, payment_void


def payment_recover(*, payment: Payment) -> Payment:
    """Finish or roll back a payment a crash or time-out left in an intermediate state.

    `authorizing`: Stripe is asked about every card tender; if every tender holds its
    authorisation the payment is completed (and captured if that was asked), else rolled back.
    `requires_action` past `KASSA_3DS_TIMEOUT_MINUTES`: concluded if Stripe says the cardholder
    finished (a lost webhook), else voided, every PaymentIntent cancelled and every hold released.
    `capturing` and `voiding` are simply run again: each step is idempotent.
    An `authorized` payment past its expiry is voided as a whole; one whose request asked for
    a capture that never started is captured.
    """
    if payment.status == Payment.Status.AUTHORIZING:
        for tender in payment_tenders(payment).filter(
            method=Tender.Method.CARD, status=Tender.Status.PENDING
        ):
            state = (
                stripe_gateway.intent_retrieve(tender.stripe_payment_intent_id)
                if tender.stripe_payment_intent_id
                else None
            )
            if state and (
                state.authorized or (state.requires_action and can_authenticate(payment))
            ):
                record_intent(tender, state)
            else:
                Tender.objects.filter(pk=tender.pk).update(
                    status=Tender.Status.FAILED, failure_code="authorization_interrupted"
                )
        try:
            concluded = conclude(payment, actor=RECOVERY_ACTOR)
            return capture_if_requested(concluded, actor=RECOVERY_ACTOR)
        except KassaError:
            return Payment.objects.get(pk=payment.pk)
    if payment.status == Payment.Status.REQUIRES_ACTION:
        if not authentication_timed_out(payment):
            return payment
        payment = payment_authentication_settle(payment=payment, actor=RECOVERY_ACTOR)
        if payment.status != Payment.Status.REQUIRES_ACTION:
            return payment
        return payment_void(
            payment=payment, reason="authentication_timed_out", actor=RECOVERY_ACTOR
        )
    if payment.status == Payment.Status.CAPTURING:
        return finish_capture(payment, actor=RECOVERY_ACTOR)
    if payment.status == Payment.Status.VOIDING:
        return finish_void(payment, reason="recovered", actor=RECOVERY_ACTOR)
    if payment.status != Payment.Status.AUTHORIZED:
        return payment
    if payment.expires_at and payment.expires_at <= timezone.now():
        return payment_void(payment=payment, reason="authorization_expired", actor=RECOVERY_ACTOR)
    try:
        return capture_if_requested(payment, actor=RECOVERY_ACTOR)
    except AuthorizationExpired:
        return Payment.objects.get(pk=payment.pk)


def refunds_needing_recovery(*, now: Any = None) -> Iterable[Refund]:
    now = now or timezone.now()
    return Refund.objects.filter(
        status=Refund.Status.PENDING, created_at__lte=now - STUCK_AFTER
    ).order_by("pk")


def refund_recover(*, refund: Refund) -> Refund:
    """Finish a refund a crash or an unreachable Stripe left pending."""
    return finish_refund(refund, actor=RECOVERY_ACTOR)


def payments_needing_recovery(*, now: Any = None) -> Iterable[Payment]:
    now = now or timezone.now()
    stuck = Payment.objects.filter(
        status__in=Payment.INTERMEDIATE, updated_at__lte=now - STUCK_AFTER
    )
    expired = Payment.objects.filter(status=Payment.Status.AUTHORIZED, expires_at__lte=now)
    capture_not_started = Payment.objects.filter(
        status=Payment.Status.AUTHORIZED, capture_requested=True, updated_at__lte=now - STUCK_AFTER
    )
    waiting = Payment.objects.filter(
        status=Payment.Status.REQUIRES_ACTION,
        updated_at__lte=now - timedelta(minutes=settings.KASSA_3DS_TIMEOUT_MINUTES),
    )
    return (stuck | expired | capture_not_started | waiting).order_by("pk")
