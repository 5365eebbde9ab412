"""Capturing an authorised payment, all or part: Stripe first, outside locks, then the ledger."""

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from config.errors import KassaError, StripeRefused
from config.money import money_json
from payments import methods, stripe_gateway
from payments.errors import (
    AuthorizationExpired,
    CaptureExceedsAuthorized,
    GiftCardLineRefused,
    PaymentStateConflict,
)
from payments.events import payment_event_record
from payments.gift_card_lines import gift_card_lines_total, gift_card_reloads_check
from payments.lock_objects import lock_payment, payment_tenders
from payments.models import Payment, Tender
from payments.services.common import keep_for_response, release_all, release_cards
from payments.services.gift_card_lines import payment_gift_cards_fulfil
from payments.services.void import payment_void
from wallet.errors import HoldExpired, HoldNotPending, RedemptionNotReserved
from wallet.models import LoyaltyAccount


def _capture_allocation(tenders: list[Tender], amount: Money) -> dict[int, Money]:
    """Capture in plan order, so what is released is the card/cash part first, vouchers last."""
    remaining = amount
    allocation = {}
    for tender in tenders:
        take = min(tender.amount, remaining)
        allocation[tender.pk] = take
        remaining -= take
    return allocation


def payment_capture(*, payment: Payment, actor: str, amount: Money | None = None) -> Payment:
    """Capture all or part of an authorised payment; the rest is released (card first).

    An authorisation past its expiry, or whose wallet holds timed out, is not captured: the
    payment is voided whole and the caller told `authorization_expired`.
    """
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status == Payment.Status.CAPTURED:
            return payment
        if payment.status != Payment.Status.AUTHORIZED:
            raise PaymentStateConflict(meta={"status": payment.status})
        amount = amount if amount is not None else payment.amount
        if amount.currency != payment.amount.currency or amount.amount <= 0:
            raise CaptureExceedsAuthorized(
                "Capture in the payment's currency, above zero.", field="amount"
            )
        if amount > payment.amount:
            raise CaptureExceedsAuthorized(
                field="amount", meta={"authorized": money_json(payment.amount)}
            )
        if amount != payment.amount and gift_card_lines_total(payment.basket, amount.currency.code):
            raise GiftCardLineRefused("A payment that sells gift cards is captured whole.")
        tenders = list(payment_tenders(payment))
        gift_card_reloads_check(payment)  # before Stripe captures: refused cleanly
        expired = payment.expires_at is not None and payment.expires_at <= timezone.now()
        stale = expired or not methods.holds_intact(tenders)
        if not stale:
            allocation = _capture_allocation(tenders, amount)
            for tender in tenders:
                tender.captured_amount = allocation[tender.pk]
            Tender.objects.bulk_update(tenders, ["captured_amount"])
            payment.status = Payment.Status.CAPTURING
            payment.captured_amount = amount
            payment.save(update_fields=["status", "captured_amount", "updated_at"])
            payment_event_record(
                payment=payment,
                type="payment.capturing",
                actor=actor,
                data={**money_json(amount)},
            )
    if stale:
        voided = payment_void(payment=payment, reason="authorization_expired", actor=actor)
        raise AuthorizationExpired(meta={"payment": str(voided.public_id), "status": voided.status})
    return finish_capture(payment, actor=actor, tenders=tenders)


def finish_capture(payment: Payment, *, actor: str, tenders: list[Tender] | None = None) -> Payment:
    """Stripe first (outside locks), then settle the ledger; re-runnable after a crash.
    `tenders`: the payment's as the capture just wrote them (else read)."""
    if tenders is None:
        tenders = list(payment_tenders(payment))
    try:
        for tender in tenders:
            if tender.method != Tender.Method.CARD or tender.status != Tender.Status.AUTHORIZED:
                continue
            if tender.captured_amount.amount > 0:
                captured = stripe_gateway.intent_capture(
                    intent_id=tender.stripe_payment_intent_id,
                    amount=tender.captured_amount,
                    tender_ref=str(tender.public_id),
                )
                if captured.charge_id and captured.charge_id != tender.stripe_charge_id:
                    # Kept for reconciliation: balance transactions name the charge.
                    Tender.objects.filter(pk=tender.pk).update(stripe_charge_id=captured.charge_id)
            else:
                stripe_gateway.intent_cancel(
                    intent_id=tender.stripe_payment_intent_id, tender_ref=str(tender.public_id)
                )
    except StripeRefused as error:
        # The authorisation is gone at Stripe (expired or cancelled): nothing can be captured,
        # so the whole payment is released rather than captured in part.
        return _void_after_failed_capture(payment, error, actor=actor)
    earning = methods.loyalty_earn_account(payment, tenders)
    try:
        return _settle_capture(payment, earning, actor=actor)
    except (HoldNotPending, HoldExpired, RedemptionNotReserved) as error:
        # A wallet hold timed out while Stripe was capturing: release everything, give back
        # what a card already captured.
        return _void_after_failed_capture(payment, error, actor=actor)


def _settle_capture(payment: Payment, earning: LoyaltyAccount | None, *, actor: str) -> Payment:
    """Capture's last transaction: post the wallet holds, earn the points, mark it captured."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("customer", "store", "terminal")
            .get(pk=payment.pk)
        )
        if payment.status != Payment.Status.CAPTURING:
            return payment
        tenders = list(payment_tenders(payment))
        methods.settle_all(tenders, payment=payment, earning=earning, actor=actor)
        for tender in tenders:
            tender.status = (
                Tender.Status.CAPTURED
                if tender.captured_amount.amount > 0
                else Tender.Status.VOIDED
            )
        Tender.objects.bulk_update(tenders, ["status", "points"])
        if payment.basket:
            payment_gift_cards_fulfil(payment=payment, actor=actor)
        payment.status = Payment.Status.CAPTURED
        payment.captured_at = timezone.now()
        payment.save(
            update_fields=[
                "status",
                "captured_at",
                "points_earned",
                "loyalty_earn_transfer",
                "updated_at",
            ]
        )
        payment_event_record(
            payment=payment,
            type="payment.captured",
            actor=actor,
            data={"points_earned": payment.points_earned, **money_json(payment.captured_amount)},
        )
    keep_for_response(payment, tenders, [])  # a payment being captured has no refunds yet
    return payment


def _void_after_failed_capture(payment: Payment, error: KassaError, *, actor: str) -> Payment:
    """A capture that cannot complete releases the whole payment, cards captured included."""
    refunded_at_stripe = release_cards(payment_tenders(payment))
    return release_all(
        payment,
        from_statuses=(Payment.Status.CAPTURING,),
        to_status=Payment.Status.VOIDED,
        reason="capture_failed",
        event={"code": "capture_failed", "refunded_at_stripe": refunded_at_stripe},
        actor=actor,
        failure_code="capture_failed",
        failure_detail=error.detail,
    )
