"""The split-tender engine.

A payment is created in phases that commit separately, so no Stripe call ever happens while a
row lock is held and a crash at any point leaves a state `payment_recover` can finish or roll
back:

1. plan — resolve every instrument and plan the tenders (pure, `payments.planning`), no writes;
2. hold — one transaction: the Payment (`authorizing`), its Tenders, every stored-value hold and
   voucher reservation, rows locked in the canonical order (payment, ledger accounts, vouchers);
3. authorise — card tenders at Stripe, outside any transaction: the PaymentIntent id is stored
   first, then confirmed (see `payments.stripe_gateway`);
4. outcome — one transaction: all good → `authorized` (and captured at once when asked);
   anything failed → every PaymentIntent cancelled, every hold voided → `failed`; a card that
   needs 3-D Secure → `requires_action`, holds kept, until `payment_confirm` (or Stripe's
   webhook, `payment_authentication_settle`) concludes it or recovery voids it after a time-out.

Capture, void and refund follow the same pattern: mark the intent in the database, talk to
Stripe, then settle the ledger; the intermediate states are `capturing` and `voiding`.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from moneyed import Money

from config.actors import api_key_actor, system_actor
from config.errors import CardDeclined, KassaError, StripeRefused, StripeUnavailable
from config.money import from_minor_units, money_json, to_minor_units
from customers.lock_objects import customers_lock_survivors
from customers.models import Customer
from merchants.models import ApiKey
from payments import methods, stripe_gateway
from payments.errors import (
    AuthenticationPending,
    AuthorizationExpired,
    CaptureExceedsAuthorized,
    CardAuthenticationFailed,
    InvalidAllocation,
    PaymentFailed,
    PaymentStateConflict,
    RefundExceedsRefundable,
)
from payments.events import payment_event_record
from payments.lock_objects import lock_payment, payment_tenders
from payments.models import Payment, Refund, RefundAllocation, Tender
from payments.planning import PlannedTender, plan_tenders
from wallet.errors import HoldExpired, HoldNotPending, RedemptionNotReserved
from wallet.models import LoyaltyAccount

logger = logging.getLogger(__name__)

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


def _zero(currency: str) -> Money:
    return Money(0, currency)


# -- create -----------------------------------------------------------------------------------


def payment_create(
    *, api_key: ApiKey, idempotency_key: str, request: PaymentRequest, client_ip: str | None
) -> Payment:
    """Create and authorise (and, if asked, capture) a split payment: all tenders or none.

    A retry with the same idempotency key returns the payment the first attempt created, in
    whatever state it (or the recovery task) brought it to; one authorised with a capture
    requested that never started (the first attempt died in between) is captured now.
    """
    actor = api_key_actor(api_key)
    try:
        resolved = methods.resolve_tenders(api_key=api_key, request=request, client_ip=client_ip)
        plan = plan_tenders(
            amount=request.amount,
            channel=request.channel,
            sources=[item.source for item in resolved],
        )
    except KassaError:
        # A retry whose first attempt used up an instrument finds that attempt's payment.
        if (existing := _existing(api_key, idempotency_key)) is not None:
            return _capture_if_requested(existing, actor=actor)
        raise
    phases = _sell if request.capture and not _has_card(plan) else _hold
    try:
        payment = phases(
            api_key=api_key,
            idempotency_key=idempotency_key,
            request=request,
            plan=plan,
            resolved=resolved,
        )
    except IntegrityError:
        # The key's payment exists (a retry, or a concurrent twin won the race to insert it):
        # the unique (api_key, idempotency_key) is the look-up, so a first attempt pays none.
        existing = _existing(api_key, idempotency_key)
        if existing is None:
            raise
        return _capture_if_requested(existing, actor=actor)
    if payment.status == Payment.Status.CAPTURED:
        return payment
    _authorize_cards(payment)
    return _capture_if_requested(_conclude(payment, actor=actor), actor=actor)


def _capture_if_requested(payment: Payment, *, actor: str) -> Payment:
    """Capture an authorised payment whose request asked for it (`capture: true`).

    It is a step of its own, after the authorisation committed, so that a retry or the recovery
    task can resume it when the process died in between.
    """
    if payment.status == Payment.Status.AUTHORIZED and payment.capture_requested:
        return payment_capture(payment=payment, actor=actor)
    return payment


def _keep_for_response(payment: Payment, api_key: ApiKey, tenders: list[Tender]) -> None:
    """Attach what the response shows, so it is built without reading the payment back."""
    cache = {}
    for name, rows in (("tenders", tenders), ("refunds", [])):
        queryset = getattr(payment, name).all()
        queryset._result_cache, queryset._prefetch_done = rows, True
        cache[name] = queryset
    payment._prefetched_objects_cache = cache  # type: ignore[attr-defined]
    if api_key.terminal is not None:
        payment.terminal = api_key.terminal
        payment.store = api_key.terminal.store


def _existing(api_key: ApiKey, idempotency_key: str) -> Payment | None:
    return Payment.objects.filter(api_key=api_key, idempotency_key=idempotency_key).first()


def _has_card(plan: list[PlannedTender]) -> bool:
    return any(planned.source.traits.authorised_at_stripe for planned in plan)


def _new_payment(
    *, api_key: ApiKey, idempotency_key: str, request: PaymentRequest, expires_at: datetime
) -> Payment:
    currency = request.amount.currency.code
    return Payment(
        merchant_id=api_key.merchant_id,
        store_id=api_key.store_id,
        terminal_id=api_key.terminal_id,
        api_key=api_key,
        idempotency_key=idempotency_key,
        customer=request.customer,
        channel=request.channel,
        amount=request.amount,
        captured_amount=_zero(currency),
        refunded_amount=_zero(currency),
        capture_requested=request.capture,
        external_reference=request.external_reference,
        basket=request.basket,
        expires_at=expires_at,
    )


def _new_tenders(
    payment: Payment, plan: list[PlannedTender], resolved: list[methods.ResolvedTender]
) -> list[Tender]:
    """The planned tenders, in plan order, bound to their instruments (not saved yet)."""
    currency = payment.amount.currency.code
    by_index = {item.source.index: item for item in resolved}
    tenders = []
    for sequence, planned in enumerate(plan, start=1):
        tender = Tender(
            payment=payment,
            sequence=sequence,
            method=planned.source.method,
            amount=planned.amount,
            captured_amount=_zero(currency),
            refunded_amount=_zero(currency),
        )
        methods.method_for(tender.method).bind(tender, by_index[planned.source.index])
        tenders.append(tender)
    return tenders


def _with_locked_customer(request: PaymentRequest) -> PaymentRequest:
    """Lock the payment's customer first (the canonical order starts there), so a merge running
    meanwhile either finishes before and the payment goes to the survivor, or waits for it."""
    if request.customer is None:
        return request
    locked = (
        Customer.objects.select_for_update(of=("self",))
        .filter(pk=request.customer.pk, merged_into__isnull=True)
        .first()
    )
    if locked is not None:  # still its own survivor: the usual case, one statement
        return replace(request, customer=locked)
    survivor = customers_lock_survivors(customer_ids=[request.customer.pk])[request.customer.pk]
    return replace(request, customer=survivor)


def _tender_lines(tenders: list[Tender]) -> list[dict[str, Any]]:
    return [{"sequence": t.sequence, "method": t.method, **money_json(t.amount)} for t in tenders]


@transaction.atomic
def _hold(
    *,
    api_key: ApiKey,
    idempotency_key: str,
    request: PaymentRequest,
    plan: list[PlannedTender],
    resolved: list[methods.ResolvedTender],
) -> Payment:
    """Phase 2: the payment, its tenders and every hold, in one transaction."""
    request = _with_locked_customer(request)
    actor = api_key_actor(api_key)
    expires_at = timezone.now() + AUTHORIZATION_TTL
    payment = _new_payment(
        api_key=api_key, idempotency_key=idempotency_key, request=request, expires_at=expires_at
    )
    payment.save()
    tenders = _new_tenders(payment, plan, resolved)
    methods.charge_all(
        tenders,
        methods.ChargeContext(
            merchant_id=api_key.merchant_id,
            customer=request.customer,
            channel=request.channel,
            hold_until=expires_at + HOLD_GRACE,
            actor=actor,
        ),
    )
    Tender.objects.bulk_create(tenders)
    payment_event_record(
        payment=payment,
        type="payment.held",
        actor=actor,
        data={"tenders": _tender_lines(tenders)},
    )
    return payment


@transaction.atomic
def _sell(
    *,
    api_key: ApiKey,
    idempotency_key: str,
    request: PaymentRequest,
    plan: list[PlannedTender],
    resolved: list[methods.ResolvedTender],
) -> Payment:
    """A sale captured on the spot with no card tender (the till's usual case): nothing waits
    on Stripe, so hold, capture and the points earned happen in one transaction and every
    instrument is charged at once, without a hold to post."""
    request = _with_locked_customer(request)
    actor = api_key_actor(api_key)
    now = timezone.now()
    payment = _new_payment(
        api_key=api_key, idempotency_key=idempotency_key, request=request, expires_at=now
    )
    payment.status = Payment.Status.CAPTURED
    payment.captured_amount = request.amount
    payment.authorized_at = payment.captured_at = now
    tenders = _new_tenders(payment, plan, resolved)
    methods.charge_all(
        tenders,
        methods.ChargeContext(
            merchant_id=api_key.merchant_id,
            customer=request.customer,
            channel=request.channel,
            hold_until=None,
            actor=actor,
        ),
        payment=payment,
        earning=methods.loyalty_earn_account(payment, tenders),
    )
    payment.save()
    Tender.objects.bulk_create(tenders)
    _keep_for_response(payment, api_key, tenders)
    payment_event_record(
        payment=payment,
        type="payment.captured",
        actor=actor,
        data={"tenders": _tender_lines(tenders), "points_earned": payment.points_earned},
    )
    return payment


def _can_authenticate(payment: Payment) -> bool:
    """Only a web shop runs Stripe.js for 3-D Secure; at a till a card that needs it fails."""
    return payment.channel == Payment.Channel.WEB


def _authorize_cards(payment: Payment) -> None:
    """Stripe authorisations, outside any transaction; stops at the first refusal. A card that
    needs 3-D Secure is left waiting (`requires_action`) and the next one is authorised."""
    for tender in payment_tenders(payment).filter(method=Tender.Method.CARD):
        try:
            if not tender.stripe_payment_intent_id:
                intent = stripe_gateway.intent_create(
                    amount=tender.amount,
                    payment_method_id=tender.stripe_payment_method_id,
                    stripe_customer_id=methods.stripe_customer_id(tender),
                    tender_ref=str(tender.public_id),
                    payment_ref=str(payment.public_id),
                )
                Tender.objects.filter(pk=tender.pk).update(stripe_payment_intent_id=intent.id)
                tender.stripe_payment_intent_id = intent.id
            state = stripe_gateway.intent_confirm(
                intent_id=tender.stripe_payment_intent_id,
                tender_ref=str(tender.public_id),
                can_authenticate=_can_authenticate(payment),
            )
        except KassaError as error:
            Tender.objects.filter(pk=tender.pk).update(
                status=Tender.Status.FAILED, failure_code=error.code, failure_detail=error.detail
            )
            return
        _record_intent(tender, state)


def _record_intent(tender: Tender, state: stripe_gateway.IntentState) -> None:
    """A card tender's outcome at Stripe: authorised, or waiting for the cardholder."""
    if state.requires_action:
        Tender.objects.filter(pk=tender.pk).update(
            status=Tender.Status.REQUIRES_ACTION, stripe_client_secret=state.client_secret
        )
    else:
        Tender.objects.filter(pk=tender.pk).update(status=Tender.Status.AUTHORIZED)


def _conclude(payment: Payment, *, actor: str) -> Payment:
    """Outcome phase: authorise the whole payment, or roll every tender back and raise.

    The capture a request asked for is not part of it (`_capture_if_requested`). Cards waiting
    for 3-D Secure (and none failed) leave the payment `requires_action`.
    """
    tenders = list(payment_tenders(payment))
    failed = next((t for t in tenders if t.status == Tender.Status.FAILED), None)
    waiting = any(t.status == Tender.Status.REQUIRES_ACTION for t in tenders)
    if failed is None and waiting:
        return _advance(payment, to=Payment.Status.REQUIRES_ACTION, actor=actor)
    if failed is None and all(t.status == Tender.Status.AUTHORIZED for t in tenders):
        return _advance(payment, to=Payment.Status.AUTHORIZED, actor=actor)
    code = failed.failure_code if failed else "authorization_interrupted"
    detail = failed.failure_detail if failed else "Not every tender was authorised."
    payment = _roll_back(payment, code=code, detail=detail, actor=actor)
    raise PaymentFailed(
        detail,
        code=code,
        field=f"tenders[{failed.sequence - 1}]" if failed else None,
        meta={"payment": str(payment.public_id)},
    )


def _advance(payment: Payment, *, to: str, actor: str) -> Payment:
    """Move an unfinished payment on (lock, then check: a concurrent conclusion wins)."""
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status not in (Payment.Status.AUTHORIZING, Payment.Status.REQUIRES_ACTION):
            return payment
        if payment.status == to:
            return payment
        payment.status = to
        if to == Payment.Status.AUTHORIZED:
            payment.authorized_at = timezone.now()
        payment.save(update_fields=["status", "authorized_at", "updated_at"])
        payment_event_record(payment=payment, type=f"payment.{to}", actor=actor)
    return payment


# -- 3-D Secure -------------------------------------------------------------------------------


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
    payment = _conclude(payment, actor=actor)
    if payment.status == Payment.Status.REQUIRES_ACTION:
        raise AuthenticationPending(meta={"payment": str(payment.public_id)})
    return _capture_if_requested(payment, actor=actor)


def payment_authentication_settle(*, payment: Payment, actor: str) -> Payment:
    """`payment_confirm` for Stripe's webhook and recovery: the outcome, without a refusal."""
    if payment.status == Payment.Status.REQUIRES_ACTION:
        payment = _refresh_waiting_cards(payment)
    if payment.status != Payment.Status.REQUIRES_ACTION:
        return payment
    try:
        payment = _conclude(payment, actor=actor)
        return _capture_if_requested(payment, actor=actor)
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


def _authentication_timed_out(payment: Payment) -> bool:
    timeout = timedelta(minutes=settings.KASSA_3DS_TIMEOUT_MINUTES)
    return payment.updated_at <= timezone.now() - timeout


def _release_cards(tenders: Iterable[Tender]) -> list[str]:
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


def _release_all(
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
    """Stripe settled (`_release_cards`): release every wallet hold, capture nothing, and end the
    payment `failed` or `voided`. A no-op unless the payment is in one of `from_statuses`."""
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status not in from_statuses:
            return payment
        zero = _zero(payment.amount.currency.code)
        tenders = list(payment_tenders(payment))
        methods.lock_wallet_rows(tenders)
        for tender in tenders:
            methods.method_for(tender.method).release(tender, reason=reason, actor=actor)
            if tender.status != Tender.Status.FAILED:
                tender.status = Tender.Status.VOIDED
            tender.captured_amount = zero
        Tender.objects.bulk_update(tenders, ["status", "captured_amount"])
        payment.status = to_status
        payment.captured_amount = zero
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


def _roll_back(payment: Payment, *, code: str, detail: str, actor: str) -> Payment:
    """Release everything an unfinished payment holds: card authorisations first, then holds.

    If Stripe cannot be reached the payment stays `authorizing` for the recovery task.
    """
    _release_cards(payment_tenders(payment))
    return _release_all(
        payment,
        from_statuses=(Payment.Status.AUTHORIZING, Payment.Status.REQUIRES_ACTION),
        to_status=Payment.Status.FAILED,
        reason=code,
        event={"code": code, "detail": detail},
        actor=actor,
        failure_code=code,
        failure_detail=detail,
    )


# -- capture ----------------------------------------------------------------------------------


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
        tenders = list(payment_tenders(payment))
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
    return _finish_capture(payment, actor=actor)


def _finish_capture(payment: Payment, *, actor: str) -> Payment:
    """Stripe first (outside locks), then settle the ledger; re-runnable after a crash."""
    tenders = list(payment_tenders(payment))
    try:
        for tender in tenders:
            if tender.method != Tender.Method.CARD or tender.status != Tender.Status.AUTHORIZED:
                continue
            if tender.captured_amount.amount > 0:
                stripe_gateway.intent_capture(
                    intent_id=tender.stripe_payment_intent_id,
                    amount=tender.captured_amount,
                    tender_ref=str(tender.public_id),
                )
            else:
                stripe_gateway.intent_cancel(
                    intent_id=tender.stripe_payment_intent_id, tender_ref=str(tender.public_id)
                )
    except StripeRefused as error:
        # The authorisation is gone at Stripe (expired or cancelled): nothing can be captured,
        # so the whole payment is released rather than captured in part.
        return _void_after_failed_capture(payment, error, actor=actor)
    earning = methods.loyalty_earn_account(payment)
    try:
        return _settle_capture(payment, earning, actor=actor)
    except (HoldNotPending, HoldExpired, RedemptionNotReserved) as error:
        # A wallet hold timed out while Stripe was capturing: release everything, give back
        # what a card already captured.
        return _void_after_failed_capture(payment, error, actor=actor)


def _settle_capture(payment: Payment, earning: LoyaltyAccount | None, *, actor: str) -> Payment:
    """Capture's last transaction: post the wallet holds, earn the points, mark it captured."""
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status != Payment.Status.CAPTURING:
            return payment
        tenders = list(payment_tenders(payment))
        methods.lock_wallet_rows(tenders, earning=earning)
        for tender in tenders:
            methods.method_for(tender.method).settle(
                tender, amount=tender.captured_amount, actor=actor
            )
            tender.status = (
                Tender.Status.CAPTURED
                if tender.captured_amount.amount > 0
                else Tender.Status.VOIDED
            )
        Tender.objects.bulk_update(tenders, ["status", "points"])
        payment.points_earned = methods.loyalty_earn(payment, tenders, earning, actor=actor)
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
    return payment


def _void_after_failed_capture(payment: Payment, error: KassaError, *, actor: str) -> Payment:
    """A capture that cannot complete releases the whole payment, cards captured included."""
    refunded_at_stripe = _release_cards(payment_tenders(payment))
    return _release_all(
        payment,
        from_statuses=(Payment.Status.CAPTURING,),
        to_status=Payment.Status.VOIDED,
        reason="capture_failed",
        event={"code": "capture_failed", "refunded_at_stripe": refunded_at_stripe},
        actor=actor,
        failure_code="capture_failed",
        failure_detail=error.detail,
    )


# -- void -------------------------------------------------------------------------------------


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
    return _finish_void(payment, reason=reason, actor=actor)


def _finish_void(payment: Payment, *, reason: str, actor: str) -> Payment:
    _release_cards(payment_tenders(payment))
    return _release_all(
        payment,
        from_statuses=(Payment.Status.VOIDING,),
        to_status=Payment.Status.VOIDED,
        reason=reason,
        event={"reason": reason},
        actor=actor,
    )


# -- refunds ----------------------------------------------------------------------------------


def _refundable(tender: Tender) -> Money:
    return tender.captured_amount - tender.refunded_amount


def _allocate_reverse(tenders: list[Tender], amount: Money) -> dict[int, Money]:
    """Last tender first: card and cash go back before stored value; vouchers last."""
    remaining = amount
    allocation = {}
    for tender in reversed(tenders):
        take = min(_refundable(tender), remaining)
        if take.amount > 0:
            allocation[tender.pk] = take
            remaining -= take
    return allocation


def _allocate_pro_rata(tenders: list[Tender], amount: Money) -> dict[int, Money]:
    """Shares proportional to what each tender can still refund, in minor units, the cents that
    rounding leaves over going to the largest remainders (ties: later tenders first)."""
    currency = amount.currency.code
    refundable = {t.pk: to_minor_units(_refundable(t)) for t in tenders}
    total = sum(refundable.values())
    target = to_minor_units(amount)
    shares = {pk: target * units // total for pk, units in refundable.items()}
    leftovers = sorted(
        refundable, key=lambda pk: (target * refundable[pk] % total, pk), reverse=True
    )
    for pk in leftovers[: target - sum(shares.values())]:
        shares[pk] += 1
    return {pk: from_minor_units(units, currency) for pk, units in shares.items() if units}


def _allocate_explicit(
    tenders: list[Tender], amount: Money, explicit: list[tuple[str, Money]]
) -> dict[int, Money]:
    by_public_id = {str(t.public_id): t for t in tenders}
    allocation: dict[int, Money] = {}
    for index, (tender_id, share) in enumerate(explicit):
        tender = by_public_id.get(tender_id)
        if tender is None or tender.pk in allocation:
            raise InvalidAllocation(field=f"allocations[{index}].tender")
        if share.currency != amount.currency or share > _refundable(tender):
            raise RefundExceedsRefundable(
                field=f"allocations[{index}].amount",
                meta={"refundable": money_json(_refundable(tender))},
            )
        allocation[tender.pk] = share
    if sum(allocation.values(), _zero(amount.currency.code)) != amount:
        raise InvalidAllocation(
            "The allocations must add up to the refund amount.", field="allocations"
        )
    return allocation


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
                _finish_refund(existing, actor=actor)
                if existing.status == Refund.Status.PENDING
                else existing
            )
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status != Payment.Status.CAPTURED:
            raise PaymentStateConflict(meta={"status": payment.status})
        refundable = payment.captured_amount - payment.refunded_amount
        if amount.currency != payment.amount.currency or amount > refundable:
            raise RefundExceedsRefundable(
                field="amount", meta={"refundable": money_json(refundable)}
            )
        tenders = [t for t in payment_tenders(payment) if t.status == Tender.Status.CAPTURED]
        if policy == Refund.Policy.EXPLICIT:
            shares = _allocate_explicit(tenders, amount, allocations or [])
        elif policy == Refund.Policy.PRO_RATA:
            shares = _allocate_pro_rata(tenders, amount)
        else:
            shares = _allocate_reverse(tenders, amount)
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
    return _finish_refund(refund, actor=actor)


def _finish_refund(refund: Refund, *, actor: str) -> Refund:
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


# -- recovery ---------------------------------------------------------------------------------


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
                state.authorized or (state.requires_action and _can_authenticate(payment))
            ):
                _record_intent(tender, state)
            else:
                Tender.objects.filter(pk=tender.pk).update(
                    status=Tender.Status.FAILED, failure_code="authorization_interrupted"
                )
        try:
            concluded = _conclude(payment, actor=RECOVERY_ACTOR)
            return _capture_if_requested(concluded, actor=RECOVERY_ACTOR)
        except KassaError:
            return Payment.objects.get(pk=payment.pk)
    if payment.status == Payment.Status.REQUIRES_ACTION:
        if not _authentication_timed_out(payment):
            return payment
        payment = payment_authentication_settle(payment=payment, actor=RECOVERY_ACTOR)
        if payment.status != Payment.Status.REQUIRES_ACTION:
            return payment
        return payment_void(
            payment=payment, reason="authentication_timed_out", actor=RECOVERY_ACTOR
        )
    if payment.status == Payment.Status.CAPTURING:
        return _finish_capture(payment, actor=RECOVERY_ACTOR)
    if payment.status == Payment.Status.VOIDING:
        return _finish_void(payment, reason="recovered", actor=RECOVERY_ACTOR)
    if payment.status != Payment.Status.AUTHORIZED:
        return payment
    if payment.expires_at and payment.expires_at <= timezone.now():
        return payment_void(payment=payment, reason="authorization_expired", actor=RECOVERY_ACTOR)
    try:
        return _capture_if_requested(payment, actor=RECOVERY_ACTOR)
    except AuthorizationExpired:
        return Payment.objects.get(pk=payment.pk)


def refunds_needing_recovery(*, now: Any = None) -> Iterable[Refund]:
    now = now or timezone.now()
    return Refund.objects.filter(
        status=Refund.Status.PENDING, created_at__lte=now - STUCK_AFTER
    ).order_by("pk")


def refund_recover(*, refund: Refund) -> Refund:
    """Finish a refund a crash or an unreachable Stripe left pending."""
    return _finish_refund(refund, actor=RECOVERY_ACTOR)


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
