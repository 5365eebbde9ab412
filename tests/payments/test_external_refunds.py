"""Refunds made directly at Stripe (on localstripe, through the SDK) become external Kassa refunds
when Stripe's `charge.refunded` event arrives, signed and delivered like Stripe's."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from payments import stripe_gateway
from payments.models import Payment, PaymentEvent, Refund, StripeEvent, Tender
from payments.services.refund_external import EXCESS_EVENT
from payments.stripe_reconcile import stripe_balance_match
from tests.payments.conftest import eur, money
from tests.payments.test_stripe_reconcile import window_start
from tests.payments.test_webhooks import authorised, card_tender, deliver, event
from wallet.ledger_verify import ledger_verify

pytestmark = pytest.mark.django_db


def refund_at_stripe(stripe, tender: Tender, cents: int) -> str:
    refund = stripe.v1.refunds.create(
        params={"payment_intent": tender.stripe_payment_intent_id, "amount": cents}
    )
    return str(refund.id)


def charge_refunded(stripe, tender: Tender) -> dict[str, Any]:
    """The event Stripe sends, with the charge as Stripe (localstripe) has it now."""
    return event("charge.refunded", stripe.v1.charges.retrieve(tender.stripe_charge_id).to_dict())


def delivered(body: dict[str, Any], capture) -> None:
    with capture(execute=True):
        response = deliver(body)
    assert response.status_code == 200, response.content
    assert StripeEvent.objects.get(event_id=body["id"]).processed_at is not None


def test_a_dashboard_refund_becomes_one_external_refund_however_often_stripe_says_so(
    shop, stripe, invariants, django_capture_on_commit_callbacks
) -> None:
    since = window_start()
    payment = authorised(shop, capture=True)  # gift card 50.00 + card 30.00, 80 points earned
    tender = card_tender(payment)
    stripe_refund = refund_at_stripe(stripe, tender, 1000)
    body = charge_refunded(stripe, tender)

    delivered(body, django_capture_on_commit_callbacks)
    delivered(body, django_capture_on_commit_callbacks)  # redelivered: a duplicate
    # Stripe sends a new event for the same charge (another refund, or an update): still once.
    delivered(charge_refunded(stripe, tender), django_capture_on_commit_callbacks)

    refund = Refund.objects.get(payment=payment)
    assert refund.external is True
    assert (refund.amount, refund.status, refund.api_key) == (eur("10.00"), "succeeded", None)
    allocation = refund.allocations.get()
    assert (allocation.tender, allocation.amount) == (tender, eur("10.00"))
    assert allocation.stripe_refund_id == stripe_refund
    tender.refresh_from_db()
    payment.refresh_from_db()
    assert tender.refunded_amount == payment.refunded_amount == eur("10.00")
    assert payment.points_earned == 80
    assert refund.points_reversed == 10  # 10.00 of 80.00 refunded: 10 of the 80 points back
    invariants()

    # Kassa's own refund reaches Stripe with its metadata: the event does not record it again.
    response = shop.web.post(
        f"/api/v1/payments/{payment.public_id}/refunds",
        {"amount": money("5.00")},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 201, response.json()
    assert response.json()["external"] is False
    delivered(charge_refunded(stripe, tender), django_capture_on_commit_callbacks)
    assert [(r.external, r.amount) for r in payment.refunds.order_by("pk")] == [
        (True, eur("10.00")),
        (False, eur("5.00")),
    ]
    invariants()

    # Kassa's refund is at Stripe but its id not stored yet (the event overtook it): not external.
    stripe_gateway.refund_create(
        intent_id=tender.stripe_payment_intent_id, amount=eur("1.00"), allocation_ref="in-flight"
    )
    delivered(charge_refunded(stripe, tender), django_capture_on_commit_callbacks)
    assert payment.refunds.count() == 2
    assert not PaymentEvent.objects.filter(type=EXCESS_EVENT).exists()

    # Reconciliation now finds the dashboard refund booked, as an external refund.
    report = stripe_balance_match(
        merchant=shop.merchant, since=since, until=datetime.now(tz=UTC) + timedelta(seconds=1)
    )
    booked = {(m.kind, m.refund_id): m.gross for m in report.matched}
    assert booked[("refund", refund.pk)] == eur("-10.00")
    assert [u["tender_id"] for u in report.unmatched_stripe] == [tender.pk]  # the one in flight


def test_more_than_kassa_can_refund_is_recorded_as_an_anomaly_not_a_crash(
    shop, stripe, django_capture_on_commit_callbacks
) -> None:
    payment = authorised(shop, capture=True)
    tender = card_tender(payment)
    ours = shop.web.post(
        f"/api/v1/payments/{payment.public_id}/refunds",
        {"amount": money("20.00")},  # reverse policy: the card's 30.00 gives back 20.00
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert ours.status_code == 201, ours.json()
    # localstripe lets a charge be refunded past its amount (Stripe would refuse): the dashboard
    # refunds 25.00 more, then 5.00 more.
    larger = refund_at_stripe(stripe, tender, 2500)
    delivered(charge_refunded(stripe, tender), django_capture_on_commit_callbacks)
    beyond = refund_at_stripe(stripe, tender, 500)
    delivered(charge_refunded(stripe, tender), django_capture_on_commit_callbacks)
    delivered(charge_refunded(stripe, tender), django_capture_on_commit_callbacks)

    external = Refund.objects.get(payment=payment, external=True)
    assert external.amount == eur("10.00")  # all the card had left
    tender.refresh_from_db()
    payment.refresh_from_db()
    assert tender.refunded_amount == tender.captured_amount == eur("30.00")
    assert payment.refunded_amount == eur("30.00")
    assert payment.status == Payment.Status.CAPTURED
    anomalies = {
        e.data["stripe_refund"]: e.data
        for e in PaymentEvent.objects.filter(payment=payment, type=EXCESS_EVENT)
    }
    assert set(anomalies) == {larger, beyond}
    assert anomalies[larger]["refunded_at_stripe"] == money("25.00")
    assert anomalies[larger]["recorded"] == money("10.00")
    assert anomalies[beyond]["recorded"] is None
    assert ledger_verify() == []
