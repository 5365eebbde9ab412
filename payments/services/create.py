"""Creating a payment: plan, hold, authorise the cards, conclude (see the package's docstring)."""

from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.actors import api_key_actor
from config.errors import KassaError
from config.inserts import rows_insert
from config.money import money_json
from customers.lock_objects import customers_lock_survivors
from customers.models import Customer
from merchants.models import ApiKey
from payments import methods
from payments.events import payment_event_new
from payments.gift_card_lines import gift_card_lines_check
from payments.models import Payment, PaymentEvent, Tender
from payments.offline_policy import is_late
from payments.planning import PlannedTender, plan_tenders
from payments.services.authorize import authorize_cards, conclude
from payments.services.capture import payment_capture
from payments.services.common import (
    AUTHORIZATION_TTL,
    HOLD_GRACE,
    PaymentRequest,
    keep_for_response,
    zero,
)
from payments.services.gift_card_lines import payment_gift_cards_fulfil


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
        gift_card_lines_check(
            merchant_id=api_key.merchant_id,
            basket=request.basket,
            methods=[tender.method for tender in request.tenders],
            at=timezone.now(),
        )
        resolved = methods.resolve_tenders(api_key=api_key, request=request, client_ip=client_ip)
        plan = plan_tenders(
            amount=request.amount,
            channel=request.channel,
            sources=[item.source for item in resolved],
        )
    except KassaError:
        # A retry whose first attempt used up an instrument finds that attempt's payment.
        if (existing := _existing(api_key, idempotency_key)) is not None:
            return capture_if_requested(existing, actor=actor)
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
        return capture_if_requested(existing, actor=actor)
    if payment.status == Payment.Status.CAPTURED:
        return payment
    tenders = list(payment.tenders.all())  # kept in memory by `_hold`
    authorize_cards(payment, tenders)
    return capture_if_requested(conclude(payment, actor=actor, tenders=tenders), actor=actor)


def capture_if_requested(payment: Payment, *, actor: str) -> Payment:
    """Capture an authorised payment whose request asked for it (`capture: true`).

    It is a step of its own, after the authorisation committed, so that a retry or the recovery
    task can resume it when the process died in between.
    """
    if payment.status == Payment.Status.AUTHORIZED and payment.capture_requested:
        return payment_capture(payment=payment, actor=actor)
    return payment


def _keep_for_response(payment: Payment, api_key: ApiKey, tenders: list[Tender]) -> None:
    """Attach what the response shows, so it is built without reading the payment back."""
    keep_for_response(payment, tenders, [])
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
        captured_amount=zero(currency),
        refunded_amount=zero(currency),
        capture_requested=request.capture,
        external_reference=request.external_reference,
        basket=request.basket,
        expires_at=expires_at,
        occurred_at=request.occurred_at,
        offline=request.offline,
        offline_late=request.offline and is_late(request.occurred_at),
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
            captured_amount=zero(currency),
            refunded_amount=zero(currency),
        )
        methods.method_for(tender.method).bind(tender, by_index[planned.source.index])
        tenders.append(tender)
    return tenders


def _request_index(plan: list[PlannedTender]) -> dict[int, int]:
    """Tender sequence (plan order) -> the tender's index in the request, for refusals."""
    return {sequence: planned.source.index for sequence, planned in enumerate(plan, start=1)}


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
    tenders = _new_tenders(payment, plan, resolved)
    methods.charge_all(
        tenders, _charge_context(api_key, request, plan, hold_until=expires_at + HOLD_GRACE)
    )
    held = payment_event_new(
        payment=payment, type="payment.held", actor=actor, data={"tenders": _tender_lines(tenders)}
    )
    # The payment, its tenders and its events: one statement.
    rows_insert(payment, children=[*tenders, held, *_offline_events(payment, actor=actor)])
    _keep_for_response(payment, api_key, tenders)
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
    lot = methods.charge_all(
        tenders,
        _charge_context(api_key, request, plan, hold_until=None),
        payment=payment,
        earning=methods.loyalty_earn_account(payment, tenders),
    )
    captured = payment_event_new(
        payment=payment,
        type="payment.captured",
        actor=actor,
        data={"tenders": _tender_lines(tenders), "points_earned": payment.points_earned},
    )
    # The payment, its tenders, its events and the points lot: one statement.
    rows_insert(
        payment,
        children=[*tenders, captured, *_offline_events(payment, actor=actor)],
        others=[lot] if lot else [],
    )
    if payment.basket:
        payment_gift_cards_fulfil(payment=payment, actor=actor)
    _keep_for_response(payment, api_key, tenders)
    return payment


def _charge_context(
    api_key: ApiKey,
    request: PaymentRequest,
    plan: list[PlannedTender],
    *,
    hold_until: datetime | None,
) -> methods.ChargeContext:
    """What charging the tenders needs; `hold_until`: None charges at once (a sale)."""
    return methods.ChargeContext(
        merchant_id=api_key.merchant_id,
        customer=request.customer,
        channel=request.channel,
        hold_until=hold_until,
        actor=api_key_actor(api_key),
        request_index=_request_index(plan),
    )


def _offline_events(payment: Payment, *, actor: str) -> list[PaymentEvent]:
    """A replayed offline sale says so in its history; one past the maximum age is flagged."""
    if not payment.offline:
        return []
    occurred = payment.occurred_at.isoformat() if payment.occurred_at else None
    return [
        payment_event_new(
            payment=payment,
            type="payment.offline_late" if payment.offline_late else "payment.offline_replayed",
            actor=actor,
            data={"occurred_at": occurred},
        )
    ]
