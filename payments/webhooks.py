"""Stripe webhooks: verified by signature, stored once by event id, applied after commit.

Kassa drives every PaymentIntent itself, so events mostly confirm what it already knows. They
matter where Stripe acts on its own: an authorisation cancelled or expired at Stripe voids the
whole payment (never leave a payment with one tender gone), a card's 3-D Secure finished in the
shop concludes a payment waiting in `requires_action` even if the shop never confirms it, a
refund made in the Stripe dashboard becomes an external refund (`services.refund_external`) and a
dispute is recorded on the payment for the back office.
"""

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from config.actors import system_actor
from payments.errors import InvalidEvent, InvalidSignature
from payments.events import payment_event_record
from payments.models import Payment, StripeEvent, Tender
from payments.services.authentication import payment_authentication_settle
from payments.services.refund_external import refund_external_record
from payments.services.void import payment_void

logger = logging.getLogger(__name__)
SIGNATURE_TOLERANCE_SECONDS = 300
# The sweep leaves a fresh event to the task its delivery scheduled; it applies this many a run.
UNCLAIMED_GRACE = timedelta(minutes=1)
SWEEP_BATCH = 100
WEBHOOK_ACTOR = system_actor("stripe_webhook")
# The cardholder's 3-D Secure step ended: authorised (capturable) or failed.
AUTHENTICATION_OUTCOMES = (
    "payment_intent.amount_capturable_updated",
    "payment_intent.payment_failed",
)


def stripe_event_receive(*, payload: bytes, signature: str) -> StripeEvent | None:
    """Verify and store an event; None when this event was already received and processed.

    An event stored but not processed yet (the process died before or while applying it, the
    broker refused the task) is handed back on Stripe's redelivery; processing skips it while
    another processor's claim lasts and takes it over once that claim has ended.
    """
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            SIGNATURE_TOLERANCE_SECONDS,
        )
        body = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
        raise InvalidSignature(field="Stripe-Signature") from error
    try:
        with transaction.atomic():
            return StripeEvent.objects.create(
                event_id=body["id"], type=body.get("type", ""), payload=body
            )
    except IntegrityError:
        existing = StripeEvent.objects.get(event_id=body["id"])
        return existing if existing.processed_at is None else None
    except KeyError as error:
        raise InvalidEvent() from error


def _tender_for(obj: dict[str, Any]) -> Tender | None:
    intent_id = obj.get("payment_intent") if obj.get("object") != "payment_intent" else obj["id"]
    tenders = Tender.objects.select_related("payment")
    if intent_id:
        return tenders.filter(stripe_payment_intent_id=intent_id).first()
    if obj.get("object") == "charge" and obj.get("id"):
        return tenders.filter(stripe_charge_id=obj["id"]).first()
    return None


def stripe_event_process(*, event: StripeEvent) -> bool:
    """Apply one stored event exactly once; True when this call applied it.

    The event is claimed for `KASSA_WEBHOOK_CLAIM_SECONDS` by one conditional UPDATE, so a
    second delivery processed meanwhile skips it; applying may call Stripe, so no row lock is
    held. `processed_at` is set in the transaction of the apply's last write, so a process that
    dies before leaves the event unprocessed: once its claim ends, Stripe's redelivery or the
    sweep takes it over. A failure that raises releases the claim at once.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.KASSA_WEBHOOK_CLAIM_SECONDS)
    claimed = (
        StripeEvent.objects.filter(pk=event.pk, processed_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=lease)
    )
    if not claimed:
        return False
    obj = event.payload.get("data", {}).get("object", {})
    try:
        tender = _tender_for(obj)
        if tender is None:
            return _processed_mark(event)
        return _apply(event, tender, obj)
    except Exception:
        StripeEvent.objects.filter(
            pk=event.pk, processed_at__isnull=True, claimed_until=lease
        ).update(claimed_until=None)
        raise


def _processed_mark(event: StripeEvent) -> bool:
    """Mark the event applied; False when another processor (after this claim ended) did.

    Called first in the apply's last transaction: the row lock it takes makes a second
    processor's mark wait, then find the event processed and write nothing.
    """
    return bool(
        StripeEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(
            processed_at=timezone.now(), claimed_until=None
        )
    )


def stripe_events_stranded(*, now: datetime | None = None) -> list[StripeEvent]:
    """Events the sweep applies, oldest first: claimed by a processor whose lease ended, or
    never claimed and older than `UNCLAIMED_GRACE` (their own processing is still on its way)."""
    now = now or timezone.now()
    stranded = Q(claimed_until__lt=now) | Q(
        claimed_until__isnull=True, received_at__lt=now - UNCLAIMED_GRACE
    )
    return list(
        StripeEvent.objects.filter(stranded, processed_at__isnull=True).order_by(
            "received_at", "pk"
        )[:SWEEP_BATCH]
    )


def _apply(event: StripeEvent, tender: Tender, obj: dict[str, Any]) -> bool:
    event_type = event.type
    payment = tender.payment
    voidable = (Payment.Status.AUTHORIZED, Payment.Status.REQUIRES_ACTION)
    if event_type == "payment_intent.canceled" and payment.status in voidable:
        payment_void(
            payment=payment, reason="authorization_canceled_at_stripe", actor=WEBHOOK_ACTOR
        )
        return _processed_mark(event)
    if event_type in AUTHENTICATION_OUTCOMES and payment.status == Payment.Status.REQUIRES_ACTION:
        # The event says what happened, but Stripe is asked again (the event may be stale).
        payment_authentication_settle(payment=payment, actor=WEBHOOK_ACTOR)
    if event_type == "charge.refunded" and obj.get("object") == "charge":
        # A refund made in Stripe's dashboard becomes a Kassa refund, flagged external.
        refund_external_record(tender=tender, charge_id=obj["id"], actor=WEBHOOK_ACTOR)
    with transaction.atomic():
        if not _processed_mark(event):
            return False
        if event_type == "charge.dispute.created":
            Tender.objects.filter(pk=tender.pk).update(disputed=True)
        payment_event_record(
            payment=payment,
            tender=tender,
            type=f"stripe.{event_type}",
            actor=WEBHOOK_ACTOR,
            data={
                "stripe_object": obj.get("id"),
                "amount": obj.get("amount"),
                "amount_refunded": obj.get("amount_refunded"),
            },
        )
    return True
