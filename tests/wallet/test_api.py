"""The wallet API: scopes, the one error shape, rate-limited code lookups, idempotent issue."""

import json
import uuid
from decimal import Decimal

import pytest
from moneyed import Money

from config.limits import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from customers.models import Strength
from customers.services import customer_access_grant
from merchants.models import ApiKey, IdempotencyRecord
from tests.factories import CustomerFactory, MerchantFactory
from tests.wallet.factories import (
    ACTOR,
    LoyaltyProgrammeFactory,
    issue_card,
    issue_voucher,
    open_loyalty,
)
from wallet import guessing
from wallet.models import GiftCard, Transfer, Voucher
from wallet.services import (
    gift_card_hold,
    loyalty_earn,
    loyalty_points_hold,
)

pytestmark = pytest.mark.django_db


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert {"code", "detail", "field", "errors"} <= set(body)
    return body


def _key() -> str:
    return str(uuid.uuid4())


def test_issue_a_gift_card_and_retry_it(merchant_api) -> None:
    request = {"initial_value": eur("25.00"), "pin": "1234"}
    first = merchant_api.post(
        "/api/v1/gift-cards", request, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert first.status_code == 201
    body = first.json()
    assert len(body["code"]) == 19
    assert body["code"][-4:] == body["last4"]
    assert body["code_shown"] is True
    assert body["available"] == eur("25.00")
    assert body["status"] == "active"
    again = merchant_api.post(
        "/api/v1/gift-cards", request, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == {**body, "code": None, "code_shown": False}
    other = merchant_api.post(
        "/api/v1/gift-cards",
        {"initial_value": eur("26.00")},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    _error(other, 422, "idempotency_key_reused")
    assert GiftCard.objects.count() == 1
    assert Transfer.objects.get().actor.startswith("api_key:")


def test_the_one_time_code_is_not_kept_in_the_idempotency_record(merchant_api) -> None:
    issued = merchant_api.post(
        "/api/v1/gift-cards",
        {"initial_value": eur("5.00")},
        format="json",
        HTTP_IDEMPOTENCY_KEY="card",
    ).json()
    voucher = merchant_api.post(
        "/api/v1/vouchers",
        {"currency": "EUR", "amount": eur("5.00")},
        format="json",
        HTTP_IDEMPOTENCY_KEY="voucher",
    ).json()
    records = IdempotencyRecord.objects.order_by("key")
    assert [(r.key, (r.response_body or {})["code"]) for r in records] == [
        ("card", None),
        ("voucher", None),
    ]
    stored = json.dumps([r.response_body for r in records])
    for code in (issued["code"], voucher["code"]):
        assert code is not None
        assert code not in stored
        assert code.replace("-", "") not in stored


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/gift-cards", {"initial_value": eur("5.00")}),
        ("/api/v1/vouchers", {"currency": "EUR", "amount": eur("5.00")}),
        ("reload", {"amount": eur("5.00")}),
    ],
)
def test_posts_that_create_value_need_an_idempotency_key(merchant_api, merchant, path, body):
    card = issue_card(merchant, "10.00").gift_card
    url = f"/api/v1/gift-cards/{card.public_id}/reload" if path == "reload" else path
    before = (GiftCard.objects.count(), Voucher.objects.count(), Transfer.objects.count())
    _error(merchant_api.post(url, body, format="json"), 400, "idempotency_key_required")
    assert (GiftCard.objects.count(), Voucher.objects.count(), Transfer.objects.count()) == before


def test_a_repeated_reload_loads_the_card_once(merchant_api, merchant) -> None:
    card = issue_card(merchant, "10.00").gift_card
    url = f"/api/v1/gift-cards/{card.public_id}/reload"
    for _ in range(2):
        response = merchant_api.post(
            url, {"amount": eur("5.00")}, format="json", HTTP_IDEMPOTENCY_KEY="reload-1"
        )
        assert response.status_code == 200
        assert response.json()["balance"] == eur("15.00")
    assert response["Idempotent-Replayed"] == "true"
    assert Transfer.objects.filter(code=Transfer.Code.RELOAD).count() == 1


def test_two_keys_of_one_merchant_may_use_the_same_idempotency_key(merchant_api, staff_api) -> None:
    request = {"initial_value": eur("5.00")}
    first, second = (
        client.post("/api/v1/gift-cards", request, format="json", HTTP_IDEMPOTENCY_KEY="1")
        for client in (merchant_api, staff_api)
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert second.json()["code_shown"] is True
    assert GiftCard.objects.count() == 2


@pytest.mark.parametrize(
    ("value", "status", "code"),
    [
        (eur("0.00"), 400, "amount_not_positive"),
        (eur("-5.00"), 400, "amount_negative"),
        (eur("5.001"), 400, "amount_too_precise"),
        ({"amount": 5.0, "currency": "EUR"}, 400, "invalid_amount"),
        ({"amount": "5", "currency": "XXX"}, 400, "unsupported_currency"),
    ],
)
def test_bad_amounts_change_nothing(merchant_api, value, status, code) -> None:
    response = merchant_api.post(
        "/api/v1/gift-cards", {"initial_value": value}, format="json", HTTP_IDEMPOTENCY_KEY=_key()
    )
    _error(response, status, code)
    assert not GiftCard.objects.exists()
    assert not Transfer.objects.exists()


def test_tills_cannot_issue_or_reload(terminal_api, merchant) -> None:
    card = issue_card(merchant).gift_card
    _error(
        terminal_api.post("/api/v1/gift-cards", {"initial_value": eur("5")}, format="json"),
        403,
        "permission_denied",
    )
    _error(
        terminal_api.post(
            f"/api/v1/gift-cards/{card.public_id}/reload", {"amount": eur("5")}, format="json"
        ),
        403,
        "permission_denied",
    )


def test_reload_refusals_are_coded(staff_api, merchant) -> None:
    card = issue_card(merchant, "10.00").gift_card
    url = f"/api/v1/gift-cards/{card.public_id}/reload"
    _error(
        staff_api.post(
            url,
            {"amount": {"amount": "5.00", "currency": "USD"}},
            format="json",
            HTTP_IDEMPOTENCY_KEY=_key(),
        ),
        400,
        "currency_mismatch",
    )
    assert (
        staff_api.post(
            f"/api/v1/gift-cards/{card.public_id}/block", {"reason": "lost"}, format="json"
        ).status_code
        == 200
    )
    _error(
        staff_api.post(url, {"amount": eur("5.00")}, format="json", HTTP_IDEMPOTENCY_KEY=_key()),
        422,
        "instrument_blocked",
    )
    staff_api.post(
        f"/api/v1/gift-cards/{card.public_id}/unblock", {"reason": "found"}, format="json"
    )
    ok = staff_api.post(url, {"amount": eur("5.00")}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert ok.status_code == 200
    assert ok.json()["balance"] == eur("15.00")
    again = staff_api.post(url, {"amount": eur("5.00")}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert again.json()["balance"] == eur("15.00")
    foreign = issue_card(MerchantFactory.create()).gift_card
    _error(
        staff_api.post(
            f"/api/v1/gift-cards/{foreign.public_id}/reload",
            {"amount": eur("1")},
            format="json",
            HTTP_IDEMPOTENCY_KEY=_key(),
        ),
        404,
        "gift_card_not_found",
    )


def test_balance_by_code_at_a_till(terminal_api, merchant) -> None:
    issued = issue_card(merchant, "30.00", pin="9876")
    gift_card_hold(
        gift_card=issued.gift_card,
        amount=Money(Decimal("12.00"), "EUR"),
        reference="p",
        expires_at=None,
        actor=ACTOR,
    )
    response = terminal_api.post(
        "/api/v1/gift-cards/balance", {"code": issued.code.lower(), "pin": "9876"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["balance"], body["held"], body["available"]) == (
        eur("30.00"),
        eur("12.00"),
        eur("18.00"),
    )
    wrong_pin = terminal_api.post(
        "/api/v1/gift-cards/balance", {"code": issued.code, "pin": "0000"}, format="json"
    )
    no_card = terminal_api.post(
        "/api/v1/gift-cards/balance", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "pin": "0000"}, format="json"
    )
    assert wrong_pin.status_code == no_card.status_code == 404
    assert wrong_pin.json() == no_card.json()


def test_guessing_locks_the_key_out_with_retry_after(merchant_api, merchant) -> None:
    issued = issue_card(merchant)
    for _ in range(guessing.FAILURES_PER_API_KEY):
        _error(
            merchant_api.post("/api/v1/gift-cards/balance", {"code": "WRONG"}, format="json"),
            404,
            "code_not_recognised",
        )
    locked = merchant_api.post("/api/v1/gift-cards/balance", {"code": issued.code}, format="json")
    body = _error(locked, 429, "code_attempts_locked")
    assert int(locked["Retry-After"]) == body["meta"]["retry_after_seconds"] > 0
    _error(
        merchant_api.post(
            "/api/v1/vouchers/validate", {"code": "X", "basket_total": eur("5")}, format="json"
        ),
        429,
        "code_attempts_locked",
    )


def test_claim_needs_a_customer_the_till_identified(terminal_api, terminal, merchant) -> None:
    customer = CustomerFactory.create(merchant=merchant)
    issued = issue_card(merchant)
    request = {"code": issued.code, "customer": str(customer.public_id)}
    _error(
        terminal_api.post("/api/v1/gift-cards/claim", request, format="json"),
        404,
        "customer_not_found",
    )
    customer_access_grant(
        api_key=ApiKey.objects.get(terminal=terminal), customer=customer, strength=Strength.WALLET
    )
    response = terminal_api.post("/api/v1/gift-cards/claim", request, format="json")
    assert response.status_code == 200
    assert response.json()["customer"] == str(customer.public_id)
    wallet = terminal_api.get(f"/api/v1/customers/{customer.public_id}/wallet").json()
    assert [card["id"] for card in wallet["gift_cards"]] == [str(issued.gift_card.public_id)]


def test_wallet_lists_every_instrument_with_balances(merchant_api, merchant) -> None:
    customer = CustomerFactory.create(merchant=merchant)
    issue_card(merchant, "20.00", customer=customer)
    issue_voucher(merchant, customer=customer, amount=None, percent=Decimal("10"))
    account = open_loyalty(customer)
    loyalty_earn(account=account, spend=Money(Decimal("250"), "EUR"), reference="e", actor=ACTOR)
    loyalty_points_hold(account=account, points=50, reference="h", expires_at=None, actor=ACTOR)
    body = merchant_api.get(f"/api/v1/customers/{customer.public_id}/wallet").json()
    assert body["gift_cards"][0]["available"] == eur("20.00")
    assert body["vouchers"][0]["percent"] == "10.00"
    points = body["loyalty_accounts"][0]
    assert (
        points["balance"]["points"],
        points["held"]["points"],
        points["available"]["points"],
    ) == (
        250,
        50,
        200,
    )
    assert points["available_value"] == eur("2.00")
    foreign = MerchantFactory.create()
    _error(
        merchant_api.get(
            f"/api/v1/customers/{CustomerFactory.create(merchant=foreign).public_id}/wallet"
        ),
        404,
        "customer_not_found",
    )


def test_issue_and_validate_a_voucher(merchant_api, terminal_api) -> None:
    issued = merchant_api.post(
        "/api/v1/vouchers",
        {"currency": "EUR", "percent": "15", "minimum_basket": eur("20.00"), "channels": ["pos"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=_key(),
    )
    assert issued.status_code == 201, issued.content
    code = issued.json()["code"]
    ok = terminal_api.post(
        "/api/v1/vouchers/validate", {"code": code, "basket_total": eur("33.33")}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["discount"] == eur("4.99")
    _error(
        terminal_api.post(
            "/api/v1/vouchers/validate", {"code": code, "basket_total": eur("19.99")}, format="json"
        ),
        422,
        "minimum_basket_not_met",
    )
    _error(
        merchant_api.post(
            "/api/v1/vouchers/validate", {"code": code, "basket_total": eur("40")}, format="json"
        ),
        422,
        "channel_not_allowed",
    )
    _error(
        merchant_api.post(
            "/api/v1/vouchers", {"currency": "EUR"}, format="json", HTTP_IDEMPOTENCY_KEY=_key()
        ),
        400,
        "voucher_value",
    )
    assert Voucher.objects.count() == 1


def test_loyalty_balance_and_paginated_history(merchant_api, merchant) -> None:
    customer = CustomerFactory.create(merchant=merchant)
    account = open_loyalty(customer, LoyaltyProgrammeFactory.create(merchant=merchant))
    for n in range(55):
        loyalty_earn(
            account=account, spend=Money(Decimal("2"), "EUR"), reference=f"e{n}", actor=ACTOR
        )
    accounts = merchant_api.get(f"/api/v1/customers/{customer.public_id}/loyalty").json()
    assert accounts["accounts"][0]["balance"] == {"points": 110, "unit": "PTS_EUR"}
    url = f"/api/v1/customers/{customer.public_id}/loyalty/{account.public_id}/history"
    first = merchant_api.get(url).json()
    assert len(first["results"]) == DEFAULT_PAGE_SIZE
    assert first["results"][0]["reference"] == "e54"
    assert all(row["points"] == 2 and row["code"] == "earn" for row in first["results"])
    second = merchant_api.get(f"{url}?page_size={MAX_PAGE_SIZE}").json()
    assert len(second["results"]) == 55
    assert second["next"] is None
    _error(merchant_api.get(f"{url}?page_size={MAX_PAGE_SIZE + 1}"), 400, "page_size_too_large")


def test_bank_cards_through_the_api(merchant_api, terminal_api, stripe, merchant) -> None:
    customer = CustomerFactory.create(merchant=merchant)
    base = f"/api/v1/customers/{customer.public_id}/bank-cards"
    method = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2031, "cvc": "123"},
        }
    )
    attached = merchant_api.post(base, {"payment_method": method.id}, format="json")
    assert attached.status_code == 201, attached.content
    card_id = attached.json()["id"]
    default = merchant_api.post(f"{base}/{card_id}/default")
    assert default.json()["is_default"] is True
    listed = merchant_api.get(base).json()
    assert [(c["id"], c["last4"], c["is_default"]) for c in listed] == [(card_id, "4242", True)]
    declined = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000009995", "exp_month": 1, "exp_year": 2031, "cvc": "123"},
        }
    )
    _error(
        merchant_api.post(base, {"payment_method": declined.id}, format="json"),
        402,
        "card_declined",
    )
    _error(terminal_api.delete(f"{base}/{card_id}"), 403, "permission_denied")
    assert merchant_api.delete(f"{base}/{card_id}").status_code == 204
    assert merchant_api.get(base).json() == []
    assert stripe.v1.payment_methods.retrieve(method.id).customer is None


def test_a_voucher_issue_retried_after_a_crash_finds_the_first_voucher(merchant_api) -> None:
    body = {"currency": "EUR", "amount": eur("5.00")}
    first = merchant_api.post("/api/v1/vouchers", body, format="json", HTTP_IDEMPOTENCY_KEY="v-1")
    assert first.status_code == 201
    # The process died after the voucher committed and before its answer was stored: the
    # claim is released, as merchants.idempotency does for a request that crashed.
    IdempotencyRecord.objects.filter(key="v-1").delete()

    retry = merchant_api.post("/api/v1/vouchers", body, format="json", HTTP_IDEMPOTENCY_KEY="v-1")
    assert retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert (retry.json()["code"], retry.json()["code_shown"]) == (None, False)
    assert Voucher.objects.count() == 1
    other = merchant_api.post("/api/v1/vouchers", body, format="json", HTTP_IDEMPOTENCY_KEY="v-2")
    assert other.json()["id"] != first.json()["id"]
