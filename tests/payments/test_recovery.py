"""Recovery runs on beat, and refunds survive an unreachable Stripe without refunding twice."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from config import celery_app
from config.embedded import free_port
from payments.models import Payment, Refund, Tender
from payments.services.common import STUCK_AFTER
from payments.tasks import payments_recover_stuck
from tests.payments.conftest import money
from tests.payments.test_flows import post


def test_beat_runs_payment_recovery() -> None:
    celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "payments.recover_stuck" in celery_app.tasks
    assert "payments.recover_stuck" in scheduled


def _card_sale(shop) -> dict:
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("40.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [{"method": "card", "bank_card": str(shop.bank_card.public_id)}],
            "capture": True,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _refunded_at_stripe(stripe, payment: dict) -> int:
    tender = Tender.objects.get(public_id=payment["tenders"][0]["id"])
    intent = stripe.v1.payment_intents.retrieve(tender.stripe_payment_intent_id)
    return int(intent.to_dict()["latest_charge"].get("amount_refunded", 0))


@pytest.mark.django_db
def test_a_refund_stripe_could_not_take_is_finished_by_the_retry_once(
    shop, settings, localstripe, stripe, invariants
) -> None:
    payment = _card_sale(shop)
    key = str(uuid.uuid4())
    path = f"/api/v1/payments/{payment['id']}/refunds"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    down = post(shop.web, path, {"amount": money("15.00")}, key=key)
    assert (down.status_code, down.json()["code"]) == (503, "card_processor_unavailable")
    assert Refund.objects.get().status == Refund.Status.PENDING
    assert Payment.objects.get().refunded_amount.amount == 15, "reserved, not released"

    settings.STRIPE_API_BASE = localstripe.api_base
    retried = post(shop.web, path, {"amount": money("15.00")}, key=key)
    assert retried.status_code == 201, retried.json()
    assert retried.json()["status"] == "succeeded"
    assert Refund.objects.count() == 1
    assert _refunded_at_stripe(stripe, payment) == 1500
    invariants()


@pytest.mark.django_db
def test_a_pending_refund_is_finished_by_the_recovery_task(
    shop, settings, localstripe, stripe, invariants
) -> None:
    payment = _card_sale(shop)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    post(shop.web, f"/api/v1/payments/{payment['id']}/refunds", {"amount": money("40.00")})
    settings.STRIPE_API_BASE = localstripe.api_base
    refund = Refund.objects.get()
    assert payments_recover_stuck() == {}, "a fresh refund may still be running"
    Refund.objects.filter(pk=refund.pk).update(
        created_at=refund.created_at - STUCK_AFTER - timedelta(seconds=1)
    )
    assert payments_recover_stuck() == {"refund_succeeded": 1}
    assert _refunded_at_stripe(stripe, payment) == 4000
    invariants()


@pytest.mark.django_db
def test_a_refund_stripe_refuses_outright_changes_nothing(shop, invariants) -> None:
    payment = _card_sale(shop)
    Tender.objects.filter(public_id=payment["tenders"][0]["id"]).update(
        stripe_payment_intent_id="pi_unknown_to_stripe"
    )
    response = post(
        shop.web, f"/api/v1/payments/{payment['id']}/refunds", {"amount": money("10.00")}
    )
    assert (response.status_code, response.json()["code"]) == (502, "card_processor_rejected")
    assert Refund.objects.get().status == Refund.Status.FAILED
    tender = Tender.objects.get(public_id=payment["tenders"][0]["id"])
    assert tender.refunded_amount.amount == 0
    assert Payment.objects.get().refunded_amount.amount == 0
