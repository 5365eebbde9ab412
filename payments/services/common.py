"""What the engine's steps share: the requests a payment is made from, its time limits, and
releasing a payment whole (cards at Stripe first, then every wallet hold).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from config.actors import system_actor
from customers.models import Customer
from payments import methods, stripe_gateway
from payments.events import payment_event_record
from payments.lock_objects import lock_payment, payment_tenders
from payments.models import Payment, Tender

# Stripe keeps a manual-capture authorisation for about seven days; stored-value holds live a
# little longer, so that the payment (not the wallet's hold expiry) voids them, all together.
AUTHORIZATION_TTL = timedelta(days=7)
HOLD_GRACE = timedelta(hours=6)
STUCK_AFTER = timedelta(minutes=2)
RECOVERY_ACTOR = system_actor("recovery")


@dataclass(frozen=True)
class TenderRequest:
    method: str
    amount: Money | None = None
    points: int | None = None
    gift_card: str | None = None
    bank_card: str | None = None
    code: str | None = None
    pin: str | None = None
    payment_method: str | None = None
    reference: str = ""


@dataclass(frozen=True)
class PaymentRequest:
    amount: Money
    channel: str
    tenders: list[TenderRequest]
    customer: Customer | None = None
    external_reference: str = ""
    basket: list[dict[str, Any]] = field(default_factory=list)
    capture: bool = False
    occurred_at: datetime | None = None
    offline: bool = False


def zero(currency: str) -> Money:
    return Money(0, currency)


def keep_for_response(payment: Payment, tenders: list[Tender], refunds: list[Any]) -> None:
    """Attach the tenders and refunds the engine holds, so the response is built from them
    instead of reading the payment back (`payments.api.views._payment_response`)."""
    cache = {}
    for name, rows in (("tenders", tenders), ("refunds", refunds)):
        queryset = getattr(payment, name).all()
        queryset._result_cache, queryset._prefetch_done = rows, True
        cache[name] = queryset
    payment._prefetched_objects_cache = cache  # type: ignore[attr-defined]


def release_cards(tenders: Iterable[Tender]) -> list[str]:
    """Give every card tender back at Stripe: cancel its authorisation, or, where Stripe already
    captured it (a capture refused part-way), refund it in full. Returns the refunded tenders."""
    refunded = []
    for tender in tenders:
        if tender.method != Tender.Method.CARD or not tender.stripe_payment_intent_id:
            continue
        current = stripe_gateway.intent_retrieve(tender.stripe_payment_intent_id)
        if current.captured:
            stripe_gateway.refund_create(
                intent_id=current.id,
                amount=tender.captured_amount,
                allocation_ref=f"undo-capture-{tender.public_id}",
            )
            refunded.append(str(tender.public_id))
        else:
            stripe_gateway.intent_cancel(
                intent_id=current.id, tender_ref=str(tender.public_id), current=current
            )
    return refunded


def release_all(
    payment: Payment,
    *,
    from_statuses: tuple[str, ...],
    to_status: str,
    reason: str,
    event: dict[str, Any],
    actor: str,
    failure_code: str = "",
    failure_detail: str = "",
) -> Payment:
    """Stripe settled (`release_cards`): release every wallet hold, capture nothing, and end the
    payment `failed` or `voided`. A no-op unless the payment is in one of `from_statuses`."""
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status not in from_statuses:
            return payment
        nothing = zero(payment.amount.currency.code)
        tenders = list(payment_tenders(payment))
        methods.lock_wallet_rows(tenders)
        for tender in tenders:
            methods.method_for(tender.method).release(tender, reason=reason, actor=actor)
            if tender.status != Tender.Status.FAILED:
                tender.status = Tender.Status.VOIDED
            tender.captured_amount = nothing
        Tender.objects.bulk_update(tenders, ["status", "captured_amount"])
        payment.status = to_status
        payment.captured_amount = nothing
        if to_status == Payment.Status.VOIDED:
            payment.voided_at = timezone.now()
        payment.failure_code = failure_code or payment.failure_code
        payment.failure_detail = failure_detail or payment.failure_detail
        payment.save(
            update_fields=[
                "status",
                "captured_amount",
                "voided_at",
                "failure_code",
                "failure_detail",
                "updated_at",
            ]
        )
        payment_event_record(payment=payment, type=f"payment.{to_status}", actor=actor, data=event)
    return payment
