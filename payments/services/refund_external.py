"""Refunds made at Stripe (its dashboard), recorded in Kassa from the `charge.refunded` webhook.

Stripe is asked for the charge's refunds (the event may be stale, and recent API versions send no
refund list in it); each succeeded refund that Kassa did not ask for (no `kassa_refund` metadata)
and has not recorded yet becomes a `Refund` flagged `external`, allocated to the card tender,
reserved and completed like any refund (the points earned on the sale are taken back in
proportion). The Stripe refund id is unique among allocations, and it is re-checked under the
payment's lock, so a redelivered or concurrent event records it once. More than the tender can
still refund is never recorded: the excess is a `refund.external_excess` event on the payment
for the back office (money left Stripe that Kassa's books do not allow), never an error.
"""

from django.db import transaction
from moneyed import Money

from config.money import money_json
from payments import stripe_gateway
from payments.events import payment_event_record
from payments.lock_objects import lock_payment
from payments.models import Payment, PaymentEvent, Refund, RefundAllocation, Tender
from payments.services.refund import finish_refund

EXCESS_EVENT = "refund.external_excess"


def refund_external_record(*, tender: Tender, charge_id: str, actor: str) -> list[Refund]:
    """Record the charge's refunds made outside Kassa; answers the refunds recorded now."""
    if tender.method != Tender.Method.CARD:
        return []
    if not tender.stripe_charge_id:
        Tender.objects.filter(pk=tender.pk, stripe_charge_id="").update(stripe_charge_id=charge_id)
    recorded = []
    for stripe_refund in stripe_gateway.charge_refunds(charge_id):
        if stripe_refund.kassa or stripe_refund.status != "succeeded":
            continue
        refund = _record(tender_id=tender.pk, stripe_refund=stripe_refund, actor=actor)
        if refund is not None:
            recorded.append(finish_refund(refund, actor=actor))
    return recorded


def _already_seen(payment: Payment, stripe_refund_id: str) -> bool:
    return (
        RefundAllocation.objects.filter(stripe_refund_id=stripe_refund_id).exists()
        or PaymentEvent.objects.filter(
            payment=payment, type=EXCESS_EVENT, data__stripe_refund=stripe_refund_id
        ).exists()
    )


def _record(
    *, tender_id: int, stripe_refund: stripe_gateway.ChargeRefund, actor: str
) -> Refund | None:
    """Reserve the refund (pending) in one transaction under the payment's lock."""
    with transaction.atomic():
        payment = lock_payment(
            Tender.objects.values_list("payment_id", flat=True).get(pk=tender_id)
        )
        if _already_seen(payment, stripe_refund.id):
            return None
        tender = Tender.objects.get(pk=tender_id)
        amount = stripe_refund.amount
        refundable = _refundable(payment, tender, amount)
        recorded = min(amount, refundable)
        refund = None
        if recorded.amount > 0:
            refund = Refund.objects.create(
                payment=payment,
                amount=recorded,
                policy=Refund.Policy.EXPLICIT,
                reason=f"refunded at Stripe ({stripe_refund.id})",
                external=True,
            )
            RefundAllocation.objects.create(
                refund=refund, tender=tender, amount=recorded, stripe_refund_id=stripe_refund.id
            )
            tender.refunded_amount += recorded
            tender.save(update_fields=["refunded_amount"])
            payment.refunded_amount += recorded
            payment.save(update_fields=["refunded_amount", "updated_at"])
            payment_event_record(
                payment=payment,
                tender=tender,
                type="refund.created",
                actor=actor,
                data={
                    "refund": str(refund.public_id),
                    "external": True,
                    "stripe_refund": stripe_refund.id,
                    **money_json(recorded),
                },
            )
        if recorded != amount:
            payment_event_record(
                payment=payment,
                tender=tender,
                type=EXCESS_EVENT,
                actor=actor,
                data={
                    "stripe_refund": stripe_refund.id,
                    "refunded_at_stripe": money_json(amount),
                    "recorded": money_json(recorded) if recorded.amount > 0 else None,
                    "payment_status": payment.status,
                },
            )
        return refund


def _refundable(payment: Payment, tender: Tender, amount: Money) -> Money:
    """What Kassa can still book as refunded on this card tender (zero when it cannot)."""
    nothing = Money(0, amount.currency)
    if (
        payment.status != Payment.Status.CAPTURED
        or tender.captured_amount.currency != amount.currency
    ):
        return nothing
    return max(
        min(
            tender.captured_amount - tender.refunded_amount,
            payment.captured_amount - payment.refunded_amount,
        ),
        nothing,
    )
