"""Authorising a payment's cards at Stripe (step 3, outside any transaction) and concluding it
(step 4): authorised, waiting for 3-D Secure, or rolled back whole (see the package's docstring)."""

from django.db import connection
from django.utils import timezone

from config.errors import KassaError
from payments import methods, stripe_gateway
from payments.errors import PaymentFailed
from payments.lock_objects import payment_tenders
from payments.models import Payment, Tender
from payments.services.common import release_all, release_cards


def can_authenticate(payment: Payment) -> bool:
    """Only a web shop runs Stripe.js for 3-D Secure; at a till a card that needs it fails."""
    return payment.channel == Payment.Channel.WEB


def authorize_cards(payment: Payment, tenders: list[Tender] | None = None) -> None:
    """Stripe authorisations, outside any transaction; stops at the first refusal. A card that
    needs 3-D Secure is left waiting (`requires_action`) and the next one is authorised.
    `tenders`: the payment's, as just written (else read); kept in step with their rows."""
    if tenders is None:
        tenders = list(payment_tenders(payment))
    for tender in tenders:
        if tender.method != Tender.Method.CARD:
            continue
        try:
            if not tender.stripe_payment_intent_id:
                intent = stripe_gateway.intent_create(
                    amount=tender.amount,
                    payment_method_id=tender.stripe_payment_method_id,
                    stripe_customer_id=methods.stripe_customer_id(tender),
                    tender_ref=str(tender.public_id),
                    payment_ref=str(payment.public_id),
                    merchant_ref=str(payment.merchant_id),
                )
                Tender.objects.filter(pk=tender.pk).update(stripe_payment_intent_id=intent.id)
                tender.stripe_payment_intent_id = intent.id
            state = stripe_gateway.intent_confirm(
                intent_id=tender.stripe_payment_intent_id,
                tender_ref=str(tender.public_id),
                can_authenticate=can_authenticate(payment),
            )
        except KassaError as error:
            tender.status = Tender.Status.FAILED
            tender.failure_code, tender.failure_detail = error.code, str(error.detail)
            Tender.objects.filter(pk=tender.pk).update(
                status=Tender.Status.FAILED, failure_code=error.code, failure_detail=error.detail
            )
            return
        record_intent(tender, state)


def record_intent(tender: Tender, state: stripe_gateway.IntentState) -> None:
    """A card tender's outcome at Stripe: authorised, or waiting for the cardholder."""
    if state.requires_action:
        tender.status, tender.stripe_client_secret = (
            Tender.Status.REQUIRES_ACTION,
            state.client_secret,
        )
        Tender.objects.filter(pk=tender.pk).update(
            status=Tender.Status.REQUIRES_ACTION, stripe_client_secret=state.client_secret
        )
    else:
        tender.status = Tender.Status.AUTHORIZED
        Tender.objects.filter(pk=tender.pk).update(status=Tender.Status.AUTHORIZED)


def conclude(payment: Payment, *, actor: str, tenders: list[Tender] | None = None) -> Payment:
    """Outcome phase: authorise the whole payment, or roll every tender back and raise.

    The capture a request asked for is not part of it (`capture_if_requested`). Cards waiting
    for 3-D Secure (and none failed) leave the payment `requires_action`. `tenders`: the
    payment's, as just written (else read).
    """
    if tenders is None:
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


_ADVANCE = """
WITH moved AS (
    UPDATE payments_payment SET status = %(to)s, updated_at = %(now)s,
        authorized_at = COALESCE(%(authorized_at)s, authorized_at)
    WHERE id = %(id)s AND status = ANY(%(unfinished)s) AND status <> %(to)s
    RETURNING id
)
INSERT INTO payments_paymentevent (payment_id, tender_id, type, actor, data, created_at)
SELECT id, NULL, %(type)s, %(actor)s, '{}'::jsonb, %(now)s FROM moved
RETURNING id
"""


def _advance(payment: Payment, *, to: str, actor: str) -> Payment:
    """Move an unfinished payment on and record it, in one statement: the conditional UPDATE
    is the lock and the check (a concurrent conclusion wins: this one then finds the payment
    it left), the event is inserted only for the row it moved."""
    now = timezone.now()
    authorized_at = now if to == Payment.Status.AUTHORIZED else None
    with connection.cursor() as cursor:
        cursor.execute(
            _ADVANCE,
            {
                "to": to,
                "now": now,
                "authorized_at": authorized_at,
                "id": payment.pk,
                "unfinished": [Payment.Status.AUTHORIZING, Payment.Status.REQUIRES_ACTION],
                "type": f"payment.{to}",
                "actor": actor,
            },
        )
        moved = cursor.fetchone() is not None
    if not moved:
        return Payment.objects.get(pk=payment.pk)
    payment.status, payment.updated_at = to, now
    payment.authorized_at = authorized_at or payment.authorized_at
    return payment


def _roll_back(payment: Payment, *, code: str, detail: str, actor: str) -> Payment:
    """Release everything an unfinished payment holds: card authorisations first, then holds.

    If Stripe cannot be reached the payment stays `authorizing` for the recovery task.
    """
    release_cards(payment_tenders(payment))
    return release_all(
        payment,
        from_statuses=(Payment.Status.AUTHORIZING, Payment.Status.REQUIRES_ACTION),
        to_status=Payment.Status.FAILED,
        reason=code,
        event={"code": code, "detail": detail},
        actor=actor,
        failure_code=code,
        failure_detail=detail,
    )
