"""POST /api/v1/stripe/webhook: events signed exactly as Stripe signs them, stored and applied
once; plus one event that localstripe itself delivers to a live server."""

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client

from config.embedded import LocalStripe, start_localstripe
from config.stripe import stripe_client
from payments.models import Payment, PaymentEvent, StripeEvent, Tender
from payments.services.capture import payment_capture
from payments.services.common import PaymentRequest, TenderRequest
from payments.services.create import payment_create
from tests.payments.conftest import Shop, available, eur

WEBHOOK = "/api/v1/stripe/webhook"
DELIVERY_WAIT_SECONDS = 15.0


def sign(payload: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """Stripe's scheme: `t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">` with the endpoint
    secret."""
    ts = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def event(type_: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": type_,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def post(payload: bytes, signature: str | None):
    headers = {} if signature is None else {"Stripe-Signature": signature}
    return Client().post(WEBHOOK, data=payload, content_type="application/json", headers=headers)


def deliver(body: dict[str, Any]):
    payload = json.dumps(body).encode()
    return post(payload, sign(payload))


def authorised(shop: Shop, *, capture: bool = False) -> Payment:
    """Gift card 50.00 + saved card 30.00, authorised (or captured)."""
    return payment_create(
        api_key=shop.web_key,
        idempotency_key=str(uuid.uuid4()),
        client_ip=None,
        request=PaymentRequest(
            amount=eur("80.00"),
            channel=Payment.Channel.WEB,
            customer=shop.customer,
            capture=capture,
            tenders=[
                TenderRequest(method="gift_card", gift_card=str(shop.gift_card.public_id)),
                TenderRequest(method="card", bank_card=str(shop.bank_card.public_id)),
            ],
        ),
    )


def card_tender(payment: Payment) -> Tender:
    return payment.tenders.get(method=Tender.Method.CARD)


def intent_object(tender: Tender) -> dict[str, Any]:
    return {
        "id": tender.stripe_payment_intent_id,
        "object": "payment_intent",
        "amount": 3000,
        "status": "succeeded",
    }


@pytest.mark.django_db
def test_a_signed_event_is_stored_once_and_processed_once(
    shop, django_capture_on_commit_callbacks
) -> None:
    tender = card_tender(authorised(shop, capture=True))
    body = event("payment_intent.succeeded", intent_object(tender))

    with django_capture_on_commit_callbacks(execute=True) as first_callbacks:
        first = deliver(body)
    assert first.status_code == 200
    assert first.json() == {"received": True, "duplicate": False}
    assert len(first_callbacks) == 1

    with django_capture_on_commit_callbacks(execute=True) as second_callbacks:
        second = deliver(body)
    assert second.status_code == 200
    assert second.json() == {"received": True, "duplicate": True}
    assert second_callbacks == [], "a duplicate schedules no processing"

    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type) == (body["id"], "payment_intent.succeeded")
    assert stored.payload == body
    assert stored.processed_at is not None
    recorded = PaymentEvent.objects.get(type="stripe.payment_intent.succeeded")
    assert recorded.tender == tender
    assert recorded.data["stripe_object"] == tender.stripe_payment_intent_id


def _tampered(payload: bytes) -> str:
    return sign(payload.replace(b"succeeded", b"canceled"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda payload: None, id="missing"),
        pytest.param(lambda payload: "", id="empty"),
        pytest.param(lambda payload: sign(payload, secret="whsec_someone_else"), id="wrong-secret"),
        pytest.param(_tampered, id="other-payload"),
        pytest.param(
            lambda payload: sign(payload, timestamp=int(time.time()) - 3600), id="replayed-late"
        ),
        pytest.param(lambda payload: "t=1,v1=deadbeef", id="garbage"),
    ],
)
def test_a_bad_signature_is_refused_and_stores_nothing(
    shop, signature, django_capture_on_commit_callbacks
) -> None:
    tender = card_tender(authorised(shop, capture=True))
    payload = json.dumps(event("payment_intent.succeeded", intent_object(tender))).encode()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(payload, signature(payload))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert callbacks == []
    assert not StripeEvent.objects.exists()
    assert not PaymentEvent.objects.filter(type__startswith="stripe.").exists()


@pytest.mark.django_db
def test_intent_canceled_at_stripe_voids_the_whole_payment(
    shop, stripe, invariants, django_capture_on_commit_callbacks
) -> None:
    payment = authorised(shop)
    tender = card_tender(payment)
    # Stripe cancels an authorisation on its own (expiry, dashboard): the card part is gone, so
    # the gift card hold must not be captured on its own.
    stripe.v1.payment_intents.cancel(tender.stripe_payment_intent_id)
    body = event("payment_intent.canceled", {**intent_object(tender), "status": "canceled"})
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(body)
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VOIDED
    assert {t.status for t in payment.tenders.all()} == {Tender.Status.VOIDED}
    assert available(shop.gift_card) == eur("50.00").amount
    voiding = PaymentEvent.objects.get(payment=payment, type="payment.voiding")
    assert voiding.data == {"reason": "authorization_canceled_at_stripe"}
    assert voiding.actor == "system:stripe_webhook"
    assert StripeEvent.objects.get().processed_at is not None
    invariants()


@pytest.mark.django_db
def test_a_dispute_marks_the_card_tender_and_is_recorded(
    shop, stripe, invariants, django_capture_on_commit_callbacks
) -> None:
    payment = authorised(shop, capture=True)
    tender = card_tender(payment)
    intent = stripe.v1.payment_intents.retrieve(tender.stripe_payment_intent_id)
    charge = intent.to_dict()["latest_charge"]
    dispute = {
        "id": "dp_kassa_1",
        "object": "dispute",
        "amount": 3000,
        "charge": charge["id"] if isinstance(charge, dict) else charge,
        "payment_intent": tender.stripe_payment_intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(event("charge.dispute.created", dispute))
    assert response.status_code == 200
    tender.refresh_from_db()
    assert tender.disputed
    assert not payment.tenders.exclude(pk=tender.pk).filter(disputed=True).exists()
    recorded = PaymentEvent.objects.get(type="stripe.charge.dispute.created")
    assert (recorded.payment, recorded.tender) == (payment, tender)
    assert recorded.data["stripe_object"] == "dp_kassa_1"
    assert recorded.actor == "system:stripe_webhook"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED, "a dispute changes no money by itself"
    invariants()


@pytest.mark.django_db
def test_an_event_stored_but_not_processed_is_processed_when_stripe_redelivers_it(
    shop, django_capture_on_commit_callbacks
) -> None:
    """The process dies after the event row commits and before its processing runs (or the
    broker refuses the task): Stripe got no 2xx, so it delivers the event again."""
    payment = authorised(shop, capture=True)
    tender = card_tender(payment)
    dispute = {
        "id": "dp_kassa_2",
        "object": "dispute",
        "payment_intent": tender.stripe_payment_intent_id,
    }
    body = event("charge.dispute.created", dispute)
    with django_capture_on_commit_callbacks(execute=False):
        deliver(body)  # stored; the crash drops the scheduled processing
    with django_capture_on_commit_callbacks(execute=True):
        deliver(body)
    assert StripeEvent.objects.get().processed_at is not None
    tender.refresh_from_db()
    assert tender.disputed


# -- one real delivery: localstripe posts the event itself ------------------------------------


@pytest.fixture
def own_localstripe(settings) -> Iterator[LocalStripe]:
    """A localstripe for this test alone, so its webhook endpoint never outlives the test and
    no other test's events reach the live server."""
    server = start_localstripe()
    settings.STRIPE_API_BASE = server.api_base
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
class TestRealDelivery:
    @pytest.fixture
    def stripe(self, own_localstripe: LocalStripe):
        return stripe_client()

    def test_localstripe_delivers_payment_intent_succeeded_after_a_capture(
        self, live_server, own_localstripe: LocalStripe, shop: Shop, invariants
    ) -> None:
        configured = httpx.post(
            f"{own_localstripe.api_base}/_config/webhooks/kassa",
            data={
                "url": f"{live_server.url}{WEBHOOK}",
                "secret": settings.STRIPE_WEBHOOK_SECRET,
                "events[]": "payment_intent.succeeded",
            },
        )
        assert configured.status_code == 200, configured.text
        payment = authorised(shop)
        intent = card_tender(payment).stripe_payment_intent_id
        payment_capture(payment=payment, actor="system:test")

        deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
        received = None
        while received is None or received.processed_at is None:
            assert time.monotonic() < deadline, "localstripe's event did not arrive in time"
            time.sleep(0.2)
            received = StripeEvent.objects.filter(
                type="payment_intent.succeeded", payload__data__object__id=intent
            ).first()
        assert received.event_id.startswith("evt_")
        assert received.payload["data"]["object"]["status"] == "succeeded"
        # processed_at is set in the transaction of the apply's last write: its effect is there.
        recorded = PaymentEvent.objects.get(payment=payment, type="stripe.payment_intent.succeeded")
        assert recorded.tender == card_tender(payment)
        invariants()
