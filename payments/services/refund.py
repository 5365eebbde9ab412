"""Refunds: reserved first, card shares at Stripe, then the wallet's shares; re-runnable."""

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from config.errors import KassaError, StripeUnavailable
from config.money import money_json
from merchants.models import ApiKey
from payments import methods, stripe_gateway
from payments.allocation import refund_allocation
from payments.errors import (
    PaymentStateConflict,
    RefundExceedsRefundable,
)
from payments.events import payment_event_record
from payments.gift_card_lines import gift_card_lines_total
from payments.lock_objects import lock_payment, payment_tenders
from payments.models import Payment, Refund, RefundAllocation, Tender


def refund_create(
    *,
    payment: Payment,
    amount: Money,
    actor: str,
    policy: str = Refund.Policy.REVERSE,
    allocations: list[tuple[str, Money]] | None = None,
    reason: str = "",
    api_key: ApiKey | None = None,
    idempotency_key: str = "",
) -> Refund:
    """Refund part or all of a captured payment across its tenders.

    Stored value goes back to its instrument, a voucher is reinstated (never paid out), card
    refunds go through Stripe, cash and the till's terminal are recorded for the till to pay
    out. Points earned on the sale are taken back in proportion.

    A retry with the same idempotency key finds the refund the first attempt made and finishes
    it if it is still pending (a crash, or Stripe out of reach, left it so).
    """
    if api_key is not None and idempotency_key:
        existing = Refund.objects.filter(api_key=api_key, idempotency_key=idempotency_key).first()
        if existing is not None:
            return (
                finish_refund(existing, actor=actor)
                if existing.status == Refund.Status.PENDING
                else existing
            )
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status != Payment.Status.CAPTURED:
            raise PaymentStateConflict(meta={"status": payment.status})
        refundable = payment.captured_amount - payment.refunded_amount
        refundable -= gift_card_lines_total(payment.basket, payment.amount.currency.code)
        if amount.currency != payment.amount.currency or amount > refundable:
            raise RefundExceedsRefundable(
                field="amount", meta={"refundable": money_json(refundable)}
            )
        tenders = [t for t in payment_tenders(payment) if t.status == Tender.Status.CAPTURED]
        shares = refund_allocation(
            policy=policy, tenders=tenders, amount=amount, explicit=allocations or []
        )
        refund = Refund.objects.create(
            payment=payment,
            amount=amount,
            policy=policy,
            reason=reason,
            api_key=api_key,
            idempotency_key=idempotency_key,
        )
        rows = []
        for tender in tenders:
            if tender.pk in shares:
                tender.refunded_amount += shares[tender.pk]
                rows.append(
                    RefundAllocation(refund=refund, tender=tender, amount=shares[tender.pk])
                )
        RefundAllocation.objects.bulk_create(rows)
        Tender.objects.bulk_update(tenders, ["refunded_amount"])
        payment.refunded_amount += amount
        payment.save(update_fields=["refunded_amount", "updated_at"])
        payment_event_record(
            payment=payment,
            type="refund.created",
            actor=actor,
            data={"refund": str(refund.public_id), "policy": policy, **money_json(amount)},
        )
    return finish_refund(refund, actor=actor)


def finish_refund(refund: Refund, *, actor: str) -> Refund:
    """Card refunds at Stripe (outside locks), then the wallet's part; re-runnable."""
    allocations = list(refund.allocations.select_related("tender"))
    try:
        for allocation in allocations:
            tender = allocation.tender
            if tender.method == Tender.Method.CARD and not allocation.stripe_refund_id:
                allocation.stripe_refund_id = stripe_gateway.refund_create(
                    intent_id=tender.stripe_payment_intent_id,
                    amount=allocation.amount,
                    allocation_ref=f"refund-{refund.public_id}-{tender.sequence}",
                )
                RefundAllocation.objects.filter(pk=allocation.pk).update(
                    stripe_refund_id=allocation.stripe_refund_id
                )
    except StripeUnavailable:
        raise  # still pending: recovery or the client's retry sends it again, same Stripe key
    except KassaError as error:
        if any(allocation.stripe_refund_id for allocation in allocations):
            # Part of it was refunded at Stripe already: it cannot simply be undone.
            payment_event_record(
                payment=refund.payment,
                type="refund.needs_attention",
                actor=actor,
                data={"refund": str(refund.public_id), "code": error.code},
            )
            raise
        return _fail_refund(refund, error, actor=actor)
    earning = methods.earn_account_of(refund.payment)
    with transaction.atomic():
        payment = lock_payment(refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING:
            return refund
        allocations = list(refund.allocations.select_related("tender", "refund"))
        methods.lock_wallet_rows([a.tender for a in allocations], earning=earning)
        for allocation in allocations:
            methods.method_for(allocation.tender.method).refund(
                allocation, reason=refund.reason or "refund", actor=actor
            )
        RefundAllocation.objects.bulk_update(allocations, ["transfer", "points"])
        refund.points_reversed = methods.loyalty_reverse(payment, refund, actor=actor)
        refund.status = Refund.Status.SUCCEEDED
        refund.completed_at = timezone.now()
        refund.save(update_fields=["status", "completed_at", "points_reversed"])
        payment_event_record(
            payment=payment,
            type="refund.succeeded",
            actor=actor,
            data={"refund": str(refund.public_id)},
        )
    return refund


def _fail_refund(refund: Refund, error: KassaError, *, actor: str) -> Refund:
    """Card refund refused before anything was refunded at Stripe: nothing of this refund
    happens, the amounts become refundable again."""
    with transaction.atomic():
        payment = lock_payment(refund.payment_id)
        for allocation in refund.allocations.select_related("tender"):
            tender = allocation.tender  # read under the payment's lock, like every refund
            tender.refunded_amount -= allocation.amount
            tender.save(update_fields=["refunded_amount"])
        payment.refunded_amount -= refund.amount
        payment.save(update_fields=["refunded_amount", "updated_at"])
        Refund.objects.filter(pk=refund.pk).update(
            status=Refund.Status.FAILED, failure_code=error.code, completed_at=timezone.now()
        )
        payment_event_record(
            payment=payment,
            type="refund.failed",
            actor=actor,
            data={"refund": str(refund.public_id), "code": error.code},
        )
    raise error
