"""3-D Secure on localstripe: a card that needs authentication keeps the payment waiting in
`requires_action` (holds kept) until the shop confirms, Stripe's webhook says, or it times out.

localstripe's `POST /v1/payment_intents/{id}/_authenticate` plays the cardholder's Stripe.js
step; its cards 4000002760003184 and 4000000000003220 always ask for authentication.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.conf import settings
from django.utils import timezone

from payments.models import Payment, PaymentEvent, Tender
from payments.services.recovery import payment_recover, payments_needing_recovery
from tests.payments.conftest import available, money, saved_card
from tests.payments.test_flows import post
from tests.payments.test_webhooks import deliver, event

pytestmark = pytest.mark.django_db

SCA_CARD = "4000002760003184"
SCA_CARD_ALWAYS = "4000000000003220"


def _pay(shop, stripe, *, number: str = SCA_CARD, capture: bool = False, client=None):
    """Gift card 50.00 + a card that needs 3-D Secure for 30.00."""
    card = saved_card(stripe, shop.customer, number)
    return post(
        client or shop.web,
        "/api/v1/payments",
        {
            "amount": money("80.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
                {"method": "card", "bank_card": str(card.public_id)},
            ],
            "capture": capture,
        },
    )


def _waiting(shop, stripe, **kwargs) -> dict:
    response = _pay(shop, stripe, **kwargs)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "requires_action"
    return body


def _card(body: dict) -> dict:
    return next(t for t in body["tenders"] if t["method"] == "card")


def _authenticate(tender: dict, *, success: bool) -> None:
    """The cardholder's Stripe.js step, as localstripe plays it."""
    secret = tender["next_action"]["client_secret"]
    intent_id = secret.split("_secret_")[0]
    response = httpx.post(
        f"{settings.STRIPE_API_BASE}/v1/payment_intents/{intent_id}/_authenticate",
        data={"client_secret": secret, "success": "true" if success else "false"},
        headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
    )
    assert response.status_code == 200, response.text


def _confirm(shop, body: dict, key: str | None = None):
    return post(shop.web, f"/api/v1/payments/{body['id']}/confirm", {}, key=key)


def _intent_status(stripe, body: dict) -> str:
    tender = Tender.objects.get(public_id=_card(body)["id"])
    return str(stripe.v1.payment_intents.retrieve(tender.stripe_payment_intent_id).status)


@pytest.mark.parametrize("number", [SCA_CARD, SCA_CARD_ALWAYS])
def test_a_3ds_card_waits_with_its_client_secret_and_the_holds_kept(
    shop, stripe, invariants, number
) -> None:
    body = _waiting(shop, stripe, number=number)
    card = _card(body)
    assert card["status"] == "requires_action"
    assert card["next_action"]["type"] == "use_stripe_sdk"
    assert card["next_action"]["client_secret"].startswith("pi_")
    gift = next(t for t in body["tenders"] if t["method"] == "gift_card")
    assert (gift["status"], gift["next_action"]) == ("authorized", None)
    assert available(shop.gift_card) == Decimal("0"), "the gift card hold is kept"
    assert _intent_status(stripe, body) == "requires_action"
    assert PaymentEvent.objects.filter(type="payment.requires_action").count() == 1
    invariants()


def test_gift_card_and_3ds_card_confirmed_authorised_then_captured(
    shop, stripe, invariants
) -> None:
    body = _waiting(shop, stripe)
    _authenticate(_card(body), success=True)
    confirmed = _confirm(shop, body)
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["status"] == "authorized"
    assert _card(confirmed.json())["next_action"] is None
    invariants()

    captured = post(shop.web, f"/api/v1/payments/{body['id']}/capture", {})
    assert captured.status_code == 200, captured.json()
    assert captured.json()["status"] == "captured"
    assert captured.json()["captured_amount"] == money("80.00")
    assert _intent_status(stripe, body) == "succeeded"
    invariants()


def test_a_payment_created_with_capture_is_captured_on_confirm(shop, stripe, invariants) -> None:
    body = _waiting(shop, stripe, capture=True)
    _authenticate(_card(body), success=True)
    key = str(uuid.uuid4())
    confirmed = _confirm(shop, body, key=key)
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["status"] == "captured"
    assert _intent_status(stripe, body) == "succeeded"
    replayed = _confirm(shop, body, key=key)
    assert (replayed.status_code, replayed.json()["status"]) == (200, "captured")
    invariants()


def test_confirm_while_the_cardholder_has_not_finished_is_409_pending(
    shop, stripe, invariants
) -> None:
    body = _waiting(shop, stripe)
    key = str(uuid.uuid4())
    pending = _confirm(shop, body, key=key)
    assert (pending.status_code, pending.json()["code"]) == (409, "authentication_pending")
    assert Payment.objects.get().status == Payment.Status.REQUIRES_ACTION
    invariants()
    # Not the key's final answer: the same key confirms once the cardholder is done.
    _authenticate(_card(body), success=True)
    confirmed = _confirm(shop, body, key=key)
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "authorized")
    invariants()


def test_confirm_after_a_failed_authentication_fails_the_payment_and_releases_everything(
    shop, stripe, invariants
) -> None:
    body = _waiting(shop, stripe)
    _authenticate(_card(body), success=False)
    failed = _confirm(shop, body)
    assert failed.status_code == 402, failed.json()
    assert failed.json()["code"] == "card_authentication_failed"
    assert failed.json()["meta"]["payment"] == body["id"]
    payment = Payment.objects.get()
    assert (payment.status, payment.failure_code) == ("failed", "card_authentication_failed")
    assert available(shop.gift_card) == Decimal("50.00"), "the gift card hold is released"
    assert set(payment.tenders.values_list("status", flat=True)) == {"voided", "failed"}
    invariants()


def test_a_failed_authentication_cancels_the_other_cards(shop, stripe, invariants) -> None:
    first = saved_card(stripe, shop.customer, SCA_CARD)
    second = saved_card(stripe, shop.customer, SCA_CARD_ALWAYS)
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("30.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {"method": "card", "bank_card": str(first.public_id), "amount": money("10.00")},
                {"method": "card", "bank_card": str(second.public_id)},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [t["status"] for t in body["tenders"]] == ["requires_action", "requires_action"]
    secrets = [t["next_action"]["client_secret"] for t in body["tenders"]]
    _authenticate(body["tenders"][0], success=True)
    _authenticate(body["tenders"][1], success=False)
    assert _confirm(shop, body).status_code == 402
    statuses = [
        stripe.v1.payment_intents.retrieve(secret.split("_secret_")[0]).status for secret in secrets
    ]
    assert statuses == ["canceled", "canceled"], "the authorised one too"
    invariants()


def test_confirm_on_a_payment_not_waiting_is_409(shop, stripe, invariants) -> None:
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("30.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [{"method": "card", "bank_card": str(shop.bank_card.public_id)}],
        },
    )
    assert response.json()["status"] == "authorized"
    refused = _confirm(shop, response.json())
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_payment_state")
    invariants()


def test_confirm_needs_a_merchant_key_and_an_idempotency_key(shop, stripe) -> None:
    body = _waiting(shop, stripe)
    path = f"/api/v1/payments/{body['id']}/confirm"
    assert shop.web.post(path, {}, format="json").status_code == 400
    assert post(shop.till_api, path, {}).status_code in (403, 404)


def test_an_abandoned_3ds_payment_is_voided_by_the_time_out(shop, stripe, invariants) -> None:
    body = _waiting(shop, stripe)
    payment = Payment.objects.get()
    assert payment not in list(payments_needing_recovery()), "not timed out yet"
    assert payment_recover(payment=payment).status == Payment.Status.REQUIRES_ACTION

    later = timezone.now() + timedelta(minutes=settings.KASSA_3DS_TIMEOUT_MINUTES + 1)
    assert list(payments_needing_recovery(now=later)) == [payment]
    Payment.objects.filter(pk=payment.pk).update(
        updated_at=timezone.now() - timedelta(minutes=settings.KASSA_3DS_TIMEOUT_MINUTES + 1)
    )
    recovered = payment_recover(payment=Payment.objects.get())
    assert recovered.status == Payment.Status.VOIDED
    assert available(shop.gift_card) == Decimal("50.00"), "the gift card hold is released"
    assert _intent_status(stripe, body) == "canceled"
    assert PaymentEvent.objects.filter(
        type="payment.voiding", data__reason="authentication_timed_out"
    ).exists()
    refused = _confirm(shop, body)
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_payment_state")
    invariants()


def test_the_time_out_concludes_a_payment_whose_cardholder_finished(
    shop, stripe, invariants
) -> None:
    """The shop never confirmed and the webhook was lost: Stripe is asked before voiding."""
    body = _waiting(shop, stripe)
    _authenticate(_card(body), success=True)
    Payment.objects.update(updated_at=timezone.now() - timedelta(days=1))
    assert payment_recover(payment=Payment.objects.get()).status == Payment.Status.AUTHORIZED
    invariants()


@pytest.mark.parametrize(
    ("success", "event_type", "status"),
    [
        (True, "payment_intent.amount_capturable_updated", Payment.Status.CAPTURED),
        (False, "payment_intent.payment_failed", Payment.Status.FAILED),
    ],
)
def test_the_webhook_concludes_a_waiting_payment(
    shop, stripe, invariants, django_capture_on_commit_callbacks, success, event_type, status
) -> None:
    body = _waiting(shop, stripe, capture=True)
    _authenticate(_card(body), success=success)
    tender = Tender.objects.get(public_id=_card(body)["id"])
    intent = {"id": tender.stripe_payment_intent_id, "object": "payment_intent"}
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(event(event_type, intent)).status_code == 200
    assert Payment.objects.get().status == status
    assert available(shop.gift_card) == Decimal("0" if success else "50.00")
    assert PaymentEvent.objects.filter(type=f"stripe.{event_type}").exists()
    invariants()


def test_at_a_till_a_card_that_needs_authentication_still_fails(shop, stripe, invariants) -> None:
    """A till cannot run Stripe.js: the saved card is refused `authentication_required`."""
    response = _pay(shop, stripe, client=shop.till_api)
    assert response.status_code == 402, response.json()
    assert response.json()["code"] == "authentication_required"
    assert Payment.objects.get().status == Payment.Status.FAILED
    assert available(shop.gift_card) == Decimal("50.00")
    invariants()


def test_the_shop_may_void_a_waiting_payment(shop, stripe, invariants) -> None:
    body = _waiting(shop, stripe)
    voided = post(shop.web, f"/api/v1/payments/{body['id']}/void", {})
    assert (voided.status_code, voided.json()["status"]) == (200, "voided")
    assert _card(voided.json())["next_action"] is None
    assert available(shop.gift_card) == Decimal("50.00")
    assert _intent_status(stripe, body) == "canceled"
    invariants()
