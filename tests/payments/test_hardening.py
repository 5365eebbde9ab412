"""Issue 9, hardening: request sizes are bounded, lists stay small, every event names its actor,
and a capture the request asked for survives the process dying before it started."""

import time
import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.limits import (
    MAX_BASKET_LINES,
    MAX_QUANTITY,
    MAX_REFUND_ALLOCATIONS,
    MAX_TENDERS_PER_PAYMENT,
)
from payments import methods
from payments.models import Payment, PaymentEvent
from payments.planning import plan_tenders
from payments.services import authorize, common, create
from payments.tasks import payments_recover_stuck
from tests.payments.conftest import available, eur, money
from tests.payments.test_flows import post, web_split

pytestmark = pytest.mark.django_db


def _error(response) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["code"], body["field"]


# -- limits -----------------------------------------------------------------------------------


def test_too_many_tenders_is_refused_at_once(shop) -> None:
    # As many as the body limit lets through (10,000 of them are refused as too large a body).
    tenders = [{"method": "gift_card", "code": shop.gift_card_code, "pin": "4321"}] * 2_000
    started = time.monotonic()
    response = post(
        shop.till_api,
        "/api/v1/payments",
        {"amount": money("10.00"), "tenders": tenders, "capture": True},
    )
    assert time.monotonic() - started < 5, "refused before a single instrument is read"
    assert _error(response) == (400, "too_many_tenders", "tenders")
    assert not Payment.objects.exists()

    cash = [{"method": "cash", "amount": money("0.01")}] * (MAX_TENDERS_PER_PAYMENT + 1)
    response = post(shop.till_api, "/api/v1/payments", {"amount": money("0.21"), "tenders": cash})
    assert _error(response) == (400, "too_many_tenders", "tenders")
    assert response.json()["meta"] == {"maximum": MAX_TENDERS_PER_PAYMENT}


def test_basket_lines_and_quantities_are_bounded(shop) -> None:
    line = {"sku": "SKU-1", "quantity": 1, "unit_price": money("0.01")}
    lines = [line] * (MAX_BASKET_LINES + 1)
    body = {
        "amount": money(str(Decimal("0.01") * len(lines))),
        "tenders": [{"method": "cash"}],
        "basket": lines,
    }
    response = post(shop.till_api, "/api/v1/payments", body)
    assert _error(response) == (400, "too_many_basket_lines", "basket")

    huge = {**line, "quantity": MAX_QUANTITY + 1}
    body = {
        "amount": money(str(Decimal("0.01") * (MAX_QUANTITY + 1))),
        "tenders": [{"method": "cash"}],
        "basket": [huge],
    }
    response = post(shop.till_api, "/api/v1/payments", body)
    assert _error(response) == (400, "quantity_too_large", "basket[0].quantity")

    long_sku = {**line, "sku": "S" * 65}
    body = {"amount": money("0.01"), "tenders": [{"method": "cash"}], "basket": [long_sku]}
    assert _error(post(shop.till_api, "/api/v1/payments", body)) == (
        400,
        "max_length",
        "basket[0].sku",
    )
    assert not Payment.objects.exists()


def test_too_many_refund_allocations_is_refused(shop) -> None:
    sale = web_split(shop, capture=True).json()
    allocation = {"tender": sale["tenders"][0]["id"], "amount": money("0.01")}
    response = post(
        shop.web,
        f"/api/v1/payments/{sale['id']}/refunds",
        {
            "amount": money("0.21"),
            "policy": "explicit",
            "allocations": [allocation] * (MAX_REFUND_ALLOCATIONS + 1),
        },
    )
    assert _error(response) == (400, "too_many_refund_allocations", "allocations")


# -- lists and the schema ---------------------------------------------------------------------


def test_the_list_answers_summaries_not_tender_details(shop) -> None:
    created = web_split(shop).json()
    page = shop.web.get("/api/v1/payments")
    assert page.status_code == 200
    (summary,) = page.json()["results"]
    assert set(summary) == {
        "id",
        "status",
        "channel",
        "amount",
        "captured_amount",
        "refunded_amount",
        "customer",
        "store",
        "terminal",
        "external_reference",
        "tender_count",
        "tender_methods",
        "created_at",
    }
    assert summary["id"] == created["id"]
    assert summary["tender_count"] == 4
    assert summary["tender_methods"] == ["card", "gift_card", "loyalty_points", "voucher"]
    assert summary["customer"] == str(shop.customer.public_id)
    assert summary["external_reference"] == "order-1"
    detail = shop.web.get(f"/api/v1/payments/{created['id']}").json()
    assert len(detail["tenders"]) == 4, "the detail keeps every tender"


def test_the_schema_declares_the_paginated_list_and_the_idempotency_key(client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    listing = schema["paths"]["/api/v1/payments"]["get"]
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]]
    assert component["type"] == "object"
    assert {"next", "previous", "results"} <= set(component["properties"])
    items = component["properties"]["results"]["items"]["$ref"]
    assert items.endswith("/PaymentSummaryOutput")

    money_moving = [
        ("/api/v1/payments", "post"),
        ("/api/v1/payments/{payment_id}/capture", "post"),
        ("/api/v1/payments/{payment_id}/void", "post"),
        ("/api/v1/payments/{payment_id}/refunds", "post"),
    ]
    for path, method in money_moving:
        (header,) = [
            p
            for p in schema["paths"][path][method]["parameters"]
            if p["in"] == "header" and p["name"] == "Idempotency-Key"
        ]
        assert header["required"] is True
        assert header["schema"] == {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": r"^[\x21-\x7e]{1,255}$",
        }, path


# -- representation and refusals --------------------------------------------------------------


def test_a_gift_card_tender_shows_the_cards_last_four(shop) -> None:
    body = web_split(shop).json()
    (gift,) = [t for t in body["tenders"] if t["method"] == "gift_card"]
    assert gift["gift_card_last4"] == shop.gift_card_code[-4:]
    assert gift["gift_card_last4"] == shop.gift_card.code_last4


def test_paying_from_an_empty_gift_card_is_insufficient_funds(shop) -> None:
    spend = {
        "amount": money("50.00"),
        "tenders": [{"method": "gift_card", "code": shop.gift_card_code, "pin": "4321"}],
        "capture": True,
    }
    assert post(shop.till_api, "/api/v1/payments", spend).status_code == 201
    assert available(shop.gift_card) == Decimal("0")
    response = post(
        shop.till_api,
        "/api/v1/payments",
        {
            "amount": money("20.00"),
            "tenders": [
                {"method": "gift_card", "code": shop.gift_card_code, "pin": "4321"},
                {"method": "cash"},
            ],
            "capture": True,
        },
    )
    assert _error(response) == (402, "insufficient_funds", "tenders[0]")
    assert response.json()["meta"] == {"available": money("0.00")}


# -- a capture asked for, and the process dying before it started ----------------------------


def _authorised_without_capture(shop, key: str) -> Payment:
    """The flow of `POST /payments` with `capture: true` and a card, up to the authorisation it
    commits; the process dies before the capture starts."""
    request = common.PaymentRequest(
        amount=eur("80.00"),
        channel="web",
        customer=shop.customer,
        capture=True,
        tenders=[
            common.TenderRequest(method="gift_card", gift_card=str(shop.gift_card.public_id)),
            common.TenderRequest(method="card", bank_card=str(shop.bank_card.public_id)),
        ],
    )
    resolved = methods.resolve_tenders(api_key=shop.web_key, request=request, client_ip=None)
    plan = plan_tenders(amount=request.amount, channel="web", sources=[r.source for r in resolved])
    payment = create._hold(
        api_key=shop.web_key, idempotency_key=key, request=request, plan=plan, resolved=resolved
    )
    authorize.authorize_cards(payment)
    payment = authorize.conclude(payment, actor=f"api_key:{shop.web_key.prefix}")
    # -- the process dies here --
    assert (payment.status, payment.capture_requested) == (Payment.Status.AUTHORIZED, True)
    return payment


def _request_body(shop) -> dict:
    return {
        "amount": money("80.00"),
        "customer": str(shop.customer.public_id),
        "tenders": [
            {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
            {"method": "card", "bank_card": str(shop.bank_card.public_id)},
        ],
        "capture": True,
    }


def test_the_retry_resumes_a_capture_that_never_started(shop, invariants) -> None:
    key = str(uuid.uuid4())
    payment = _authorised_without_capture(shop, key)
    retried = post(shop.web, "/api/v1/payments", _request_body(shop), key=key)
    assert retried.status_code == 201, retried.json()
    assert retried.json()["id"] == str(payment.public_id)
    assert retried.json()["status"] == "captured"
    assert retried.json()["captured_amount"] == money("80.00")
    assert Payment.objects.count() == 1
    captured = PaymentEvent.objects.get(payment=payment, type="payment.captured")
    assert captured.actor == f"api_key:{shop.web_key.prefix}"
    invariants()


def test_recovery_captures_an_authorised_payment_whose_capture_never_started(
    shop, invariants
) -> None:
    payment = _authorised_without_capture(shop, "crash-capture")
    assert payments_recover_stuck() == {}, "a fresh payment may still be capturing"
    Payment.objects.filter(pk=payment.pk).update(
        updated_at=timezone.now() - common.STUCK_AFTER - timedelta(seconds=1)
    )
    out = StringIO()
    call_command("payments_recover", stdout=out)
    assert out.getvalue().strip() == "captured: 1"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert available(shop.gift_card) == Decimal("0")
    acted = dict(payment.events.values_list("type", "actor"))
    assert acted["payment.capturing"] == acted["payment.captured"] == "system:recovery"
    assert payments_recover_stuck() == {}, "captured once"
    invariants()


def test_recovery_leaves_an_authorised_payment_without_capture_alone(shop) -> None:
    payment = Payment.objects.get(public_id=web_split(shop).json()["id"])
    Payment.objects.filter(pk=payment.pk).update(
        updated_at=timezone.now() - common.STUCK_AFTER - timedelta(seconds=1)
    )
    assert payments_recover_stuck() == {}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED


# -- actors -----------------------------------------------------------------------------------


def test_api_requests_record_the_keys_actor_on_every_event(shop) -> None:
    body = web_split(shop, capture=True).json()
    post(shop.web, f"/api/v1/payments/{body['id']}/refunds", {"amount": money("5.00")})
    till_sale = post(
        shop.till_api,
        "/api/v1/payments",
        {"amount": money("5.00"), "tenders": [{"method": "cash"}], "capture": True},
    ).json()
    web_actors = set(
        PaymentEvent.objects.filter(payment__public_id=body["id"]).values_list("type", "actor")
    )
    web = f"api_key:{shop.web_key.prefix}"
    assert web_actors == {
        ("payment.held", web),
        ("payment.authorized", web),
        ("payment.capturing", web),
        ("payment.captured", web),
        ("refund.created", web),
        ("refund.succeeded", web),
    }
    till_actors = set(
        PaymentEvent.objects.filter(payment__public_id=till_sale["id"]).values_list("actor")
    )
    assert till_actors == {(f"api_key:{shop.till_key.prefix}",)}


def test_an_event_without_a_valid_actor_is_refused_by_the_database(shop) -> None:
    payment = Payment.objects.get(public_id=web_split(shop).json()["id"])
    for actor in ("", "somebody", "api_key: x"):
        with pytest.raises(IntegrityError), transaction.atomic():
            PaymentEvent.objects.create(payment=payment, type="note", actor=actor)
