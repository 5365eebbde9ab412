"""No payment is reachable across stores or merchants; a till reaches identified customers only."""

import uuid

import pytest

from merchants.models import ApiKey
from merchants.services import api_key_issue
from tests.factories import CustomerFactory, MerchantFactory, StoreFactory, TerminalFactory
from tests.payments.conftest import _client, money
from tests.payments.test_flows import post

pytestmark = pytest.mark.django_db


def _till_sale(client) -> dict:
    response = post(
        client,
        "/api/v1/payments",
        {"amount": money("10.00"), "tenders": [{"method": "cash"}], "capture": False},
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _other_store_till(shop):
    store = StoreFactory.create(merchant=shop.merchant, code="UTR")
    till = TerminalFactory.create(store=store, code="T9")
    _, raw = api_key_issue(
        merchant=shop.merchant, scope=ApiKey.Scope.TERMINAL, name="utrecht", terminal=till
    )
    return _client(raw)


def test_a_till_of_store_b_cannot_read_or_move_store_a_payments(shop) -> None:
    payment = _till_sale(shop.till_api)
    other = _other_store_till(shop)
    path = f"/api/v1/payments/{payment['id']}"
    assert other.get(path).status_code == 404
    for action, body in (("capture", {}), ("void", {}), ("refunds", {"amount": money("1.00")})):
        response = post(other, f"{path}/{action}", body)
        assert response.status_code == 404, action
        assert response.json()["code"] == "payment_not_found"
    assert other.get("/api/v1/payments").json()["results"] == []
    assert shop.till_api.get(path).status_code == 200
    assert shop.web.get(path).status_code == 200, "the merchant's web shop key sees every store"


def test_another_merchant_sees_nothing(shop) -> None:
    payment = _till_sale(shop.till_api)
    _, raw = api_key_issue(merchant=MerchantFactory.create(), scope=ApiKey.Scope.MERCHANT, name="x")
    stranger = _client(raw)
    assert stranger.get(f"/api/v1/payments/{payment['id']}").status_code == 404
    assert stranger.get("/api/v1/payments").json()["results"] == []


def test_a_till_cannot_charge_a_customer_it_did_not_identify(shop) -> None:
    stranger = CustomerFactory.create(merchant=shop.merchant)
    response = post(
        shop.till_api,
        "/api/v1/payments",
        {
            "amount": money("10.00"),
            "customer": str(stranger.public_id),
            "tenders": [{"method": "cash"}],
        },
    )
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"


def test_list_filters_by_reference_and_status(shop) -> None:
    for reference in ("A-1", "A-2"):
        post(
            shop.web,
            "/api/v1/payments",
            {
                "amount": money("5.00"),
                "external_reference": reference,
                "customer": str(shop.customer.public_id),
                "tenders": [{"method": "gift_card", "gift_card": str(shop.gift_card.public_id)}],
            },
        )
    found = shop.web.get("/api/v1/payments", {"reference": "A-2"}).json()["results"]
    assert [p["external_reference"] for p in found] == ["A-2"]
    assert len(shop.web.get("/api/v1/payments", {"status": "authorized"}).json()["results"]) == 2
    assert shop.web.get("/api/v1/payments", {"status": "captured"}).json()["results"] == []
    bad = shop.web.get("/api/v1/payments", {"status": "nonsense"})
    assert bad.status_code == 400


def test_web_keys_cannot_take_till_payments(shop) -> None:
    response = post(
        shop.web,
        "/api/v1/payments",
        {"amount": money("5.00"), "channel": "pos", "tenders": [{"method": "cash"}]},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "channel_not_allowed_for_key"


def test_unknown_payment_is_404(shop) -> None:
    assert shop.web.get(f"/api/v1/payments/{uuid.uuid4()}").status_code == 404


def test_guessing_gift_card_codes_at_checkout_locks_the_till_out(shop) -> None:
    def guess():
        return post(
            shop.till_api,
            "/api/v1/payments",
            {
                "amount": money("5.00"),
                "tenders": [{"method": "gift_card", "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "pin": "0000"}],
            },
        )

    statuses = [guess().status_code for _ in range(10)]
    assert statuses == [404] * 10
    locked = guess()
    assert locked.status_code == 429
    assert locked.json()["code"] == "code_attempts_locked"
    assert int(locked["Retry-After"]) == locked.json()["meta"]["retry_after_seconds"] > 0
