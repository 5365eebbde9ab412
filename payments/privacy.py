"""The payments app's privacy handler (the customer-data contract, customers.privacy.contract).

Payments are financial records kept for the legal retention period: erasure keeps every
payment, tender, refund and event under the pseudonymous customer id, so reports add up and
refunds still go to the original tenders. What may name the person is redacted wherever it
matches their names or identifier values: the shop's order reference, basket line text,
failure details, tender references and refund reasons; the stored Stripe webhook payloads of
their PaymentIntents (Stripe's copies of billing details) are emptied. `PaymentEvent` rows are
append-only and hold codes and amounts only.
"""

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, Q
from moneyed import Money

from customers.models import Customer
from customers.privacy.contract import (
    CustomerDataHandler,
    ErasureContext,
    Moved,
    privacy_handler_register,
    rows_repoint,
)
from payments.models import Payment, Refund, StripeEvent, Tender
from payments.retention import PURGED, stripe_event_payloads_purge


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _money(value: Money | None) -> dict[str, str] | None:
    return None if value is None else {"amount": str(value.amount), "currency": str(value.currency)}


def _tender(tender: Tender) -> dict[str, Any]:
    card = tender.bank_card
    return {
        "sequence": tender.sequence,
        "method": tender.method,
        "status": tender.status,
        "amount": _money(tender.amount),
        "captured": _money(tender.captured_amount),
        "refunded": _money(tender.refunded_amount),
        "points": tender.points,
        "card": None if card is None else {"brand": card.brand, "last4": card.last4},
    }


def _refund(refund: Refund) -> dict[str, Any]:
    return {
        "id": str(refund.public_id),
        "amount": _money(refund.amount),
        "status": refund.status,
        "reason": refund.reason,
        "created_at": _iso(refund.created_at),
        "allocations": [
            {"tender": a.tender.sequence, "amount": _money(a.amount), "points": a.points}
            for a in refund.allocations.select_related("tender").order_by("pk")
        ],
    }


class PaymentsPrivacy(CustomerDataHandler):
    app_label = "payments"
    order = 20
    references = frozenset({("payments.payment", "customer")})

    def export(self, *, customer: Customer) -> Mapping[str, Any]:
        return {"payments": self._payments(customer)}

    def _payments(self, customer: Customer) -> Iterator[dict[str, Any]]:
        payments = (
            Payment.objects.filter(customer=customer)
            .select_related("store")
            .order_by("created_at", "pk")
            .iterator(chunk_size=200)
        )
        for payment in payments:
            yield {
                "id": str(payment.public_id),
                "created_at": _iso(payment.created_at),
                "channel": payment.channel,
                "store": payment.store.code if payment.store else None,
                "status": payment.status,
                "amount": _money(payment.amount),
                "captured": _money(payment.captured_amount),
                "refunded": _money(payment.refunded_amount),
                "points_earned": payment.points_earned,
                "external_reference": payment.external_reference,
                "basket": payment.basket,
                "tenders": [
                    _tender(t)
                    for t in payment.tenders.select_related("bank_card").order_by("sequence")
                ],
                "refunds": [_refund(r) for r in payment.refunds.order_by("pk")],
            }

    def erase(self, *, context: ErasureContext) -> dict[str, Any]:
        locked = list(
            Payment.objects.select_for_update(of=("self",))
            .filter(customer=context.customer)
            .order_by("pk")
        )
        redacted = 0
        intents: list[str] = []
        for payment in locked:
            changed = False
            for name in ("external_reference", "failure_detail"):
                if context.mentions(getattr(payment, name)):
                    setattr(payment, name, context.redact(getattr(payment, name)))
                    changed = True
            basket = context.redact_json(payment.basket)
            if basket != payment.basket:
                payment.basket = basket
                changed = True
            if changed:
                payment.save(update_fields=["external_reference", "failure_detail", "basket"])
                redacted += 1
            for tender in payment.tenders.order_by("pk"):
                if tender.stripe_payment_intent_id:
                    intents.append(tender.stripe_payment_intent_id)
                if context.mentions(tender.external_reference) or context.mentions(
                    tender.failure_detail
                ):
                    Tender.objects.filter(pk=tender.pk).update(
                        external_reference=context.redact(tender.external_reference),
                        failure_detail=context.redact(tender.failure_detail),
                    )
                    redacted += 1
            for refund in payment.refunds.order_by("pk"):
                if context.mentions(refund.reason):
                    Refund.objects.filter(pk=refund.pk).update(reason=context.redact(refund.reason))
                    redacted += 1
        events = (
            StripeEvent.objects.filter(
                Q(payload__data__object__id__in=intents)
                | Q(payload__data__object__payment_intent__in=intents),
                processed_at__isnull=False,
            ).update(payload=PURGED)
            if intents
            else 0
        )
        return {
            "payments_kept": len(locked),
            "texts_redacted": redacted,
            "stripe_event_payloads_purged": events,
        }

    def merge(self, *, absorbed: Customer, survivor: Customer) -> list[Moved]:
        move = rows_repoint(Payment, "customer", old=absorbed.pk, new=survivor.pk)
        return [] if move is None else [move]

    def last_activity(self, *, customer: Customer) -> datetime | None:
        latest: datetime | None = Payment.objects.filter(customer=customer).aggregate(
            at=Max("created_at")
        )["at"]
        return latest

    def retention_purge(self, *, now: datetime) -> dict[str, int]:
        days = settings.KASSA_RETENTION_STRIPE_EVENT_PAYLOAD_DAYS
        return {
            "stripe_event_payloads": stripe_event_payloads_purge(before=now - timedelta(days=days))
        }


privacy_handler_register(PaymentsPrivacy())
