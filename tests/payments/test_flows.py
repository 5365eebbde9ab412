"""Split payments end to end through the API, with the invariants checked after each."""

import uuid
from decimal import Decimal

import pytest

from payments.models import Payment, Tender
from tests.payments.conftest import available, money
from wallet.models import VoucherRedemption

pytestmark = pytest.mark.django_db


def post(client, path: str, body: dict, key: str | None = None):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def web_split(shop, *, capture: bool = False, amount: str = "100.00"):
    return post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money(amount),
            "customer": str(shop.customer.public_id),
            "external_reference": "order-1",
            "tenders": [
                {"method": "card", "bank_card": str(shop.bank_card.public_id)},
                {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
                {"method": "loyalty_points", "points": 500},
                {"method": "voucher", "code": shop.voucher_code},
            ],
            "capture": capture,
        },
    )


def test_web_voucher_gift_card_points_card_authorised_then_captured(shop, invariants) -> None:
    response = web_split(shop)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "authorized"
    assert [(t["method"], t["amount"]["amount"]) for t in body["tenders"]] == [
        ("voucher", "10.00"),
        ("gift_card", "50.00"),
        ("loyalty_points", "5.00"),
        ("card", "35.00"),
    ]
    assert available(shop.gift_card) == Decimal("0")  # held
    assert available(shop.loyalty) == Decimal("1500")
    invariants()

    captured = post(shop.web, f"/api/v1/payments/{body['id']}/capture", {})
    assert captured.status_code == 200, captured.json()
    assert captured.json()["status"] == "captured"
    assert captured.json()["captured_amount"] == money("100.00")
    # points are earned on what was paid with money: gift card 50 + card 35, 1 point per euro
    assert captured.json()["points_earned"] == 85
    assert available(shop.loyalty) == Decimal("1585")
    invariants()


def test_till_gift_card_by_code_and_pin_plus_cash_captured_at_once(shop, invariants) -> None:
    response = post(
        shop.till_api,
        "/api/v1/payments",
        {
            "amount": money("62.50"),
            "tenders": [
                {"method": "cash"},
                {"method": "gift_card", "code": shop.gift_card_code, "pin": "4321"},
            ],
            "capture": True,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "captured"
    assert body["channel"] == "pos"
    assert body["store"] == shop.store.code
    assert [(t["method"], t["captured_amount"]["amount"]) for t in body["tenders"]] == [
        ("gift_card", "50.00"),
        ("cash", "12.50"),
    ]
    assert available(shop.gift_card) == Decimal("0")
    invariants()


def test_partial_capture_releases_the_card_part_first(shop, invariants) -> None:
    payment = web_split(shop).json()
    response = post(
        shop.web, f"/api/v1/payments/{payment['id']}/capture", {"amount": money("70.00")}
    )
    assert response.status_code == 200, response.json()
    tenders = {t["method"]: t for t in response.json()["tenders"]}
    assert tenders["card"]["captured_amount"] == money("5.00")
    assert tenders["gift_card"]["captured_amount"] == money("50.00")
    assert tenders["loyalty_points"]["captured_amount"] == money("5.00")
    assert tenders["voucher"]["captured_amount"] == money("10.00")
    invariants()


def test_partial_capture_below_the_stored_value_cancels_the_card(shop, invariants) -> None:
    payment = web_split(shop).json()
    response = post(
        shop.web, f"/api/v1/payments/{payment['id']}/capture", {"amount": money("30.00")}
    )
    tenders = {t["method"]: t for t in response.json()["tenders"]}
    assert tenders["card"]["status"] == "voided"
    assert tenders["gift_card"]["captured_amount"] == money("20.00")
    assert available(shop.gift_card) == Decimal("30.00"), "the uncaptured rest is back on the card"
    invariants()


def _captured(shop) -> dict:
    payment = web_split(shop, capture=True)
    assert payment.status_code == 201, payment.json()
    return payment.json()


def test_refund_reverse_order_goes_to_the_card_first(shop, invariants) -> None:
    payment = _captured(shop)
    response = post(
        shop.web, f"/api/v1/payments/{payment['id']}/refunds", {"amount": money("40.00")}
    )
    assert response.status_code == 201, response.json()
    shares = {a["tender"]: a["amount"]["amount"] for a in response.json()["allocations"]}
    by_id = {t["id"]: t["method"] for t in payment["tenders"]}
    assert {by_id[t]: amount for t, amount in shares.items()} == {
        "card": "35.00",
        "loyalty_points": "5.00",
    }
    assert available(shop.loyalty) == Decimal("2000") - 500 + 85 + 500 - 34
    invariants()


def test_refund_pro_rata_splits_by_captured_shares(shop, invariants) -> None:
    payment = _captured(shop)
    response = post(
        shop.web,
        f"/api/v1/payments/{payment['id']}/refunds",
        {"amount": money("10.00"), "policy": "pro_rata"},
    )
    assert response.status_code == 201, response.json()
    by_id = {t["id"]: t["method"] for t in payment["tenders"]}
    shares = {by_id[a["tender"]]: a["amount"]["amount"] for a in response.json()["allocations"]}
    assert shares == {
        "voucher": "1.00",
        "gift_card": "5.00",
        "loyalty_points": "0.50",
        "card": "3.50",
    }
    assert available(shop.gift_card) == Decimal("5.00")
    invariants()


def test_refund_explicit_allocation_and_full_refund_reinstates_the_voucher(
    shop, invariants
) -> None:
    payment = _captured(shop)
    tenders = {t["method"]: t["id"] for t in payment["tenders"]}
    first = post(
        shop.web,
        f"/api/v1/payments/{payment['id']}/refunds",
        {
            "amount": money("20.00"),
            "policy": "explicit",
            "allocations": [{"tender": tenders["gift_card"], "amount": money("20.00")}],
        },
    )
    assert first.status_code == 201, first.json()
    assert available(shop.gift_card) == Decimal("20.00")
    rest = post(shop.web, f"/api/v1/payments/{payment['id']}/refunds", {"amount": money("80.00")})
    assert rest.status_code == 201, rest.json()
    assert available(shop.gift_card) == Decimal("50.00")
    voucher_tender = Tender.objects.select_related("voucher_redemption").get(
        public_id=tenders["voucher"]
    )
    redemption = voucher_tender.voucher_redemption
    assert redemption is not None
    assert redemption.status == VoucherRedemption.Status.REINSTATED
    assert available(shop.loyalty) == Decimal("2000"), "points spent come back, earned go"
    too_much = post(
        shop.web, f"/api/v1/payments/{payment['id']}/refunds", {"amount": money("0.01")}
    )
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "refund_exceeds_refundable"
    invariants()


def test_void_releases_everything(shop, invariants) -> None:
    payment = web_split(shop).json()
    response = post(shop.web, f"/api/v1/payments/{payment['id']}/void", {})
    assert response.status_code == 200
    assert response.json()["status"] == "voided"
    assert available(shop.gift_card) == Decimal("50.00")
    assert available(shop.loyalty) == Decimal("2000")
    invariants()


def test_card_declined_fails_the_whole_payment_and_releases_every_hold(
    shop, stripe, invariants
) -> None:
    from tests.payments.conftest import saved_card

    declining = saved_card(stripe, shop.customer, number="4000000000000341")
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("80.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
                {"method": "card", "bank_card": str(declining.public_id)},
            ],
        },
    )
    assert response.status_code == 402, response.json()
    body = response.json()
    assert body["code"] == "card_declined"
    payment = Payment.objects.get(public_id=body["meta"]["payment"])
    assert payment.status == Payment.Status.FAILED
    assert available(shop.gift_card) == Decimal("50.00")
    invariants()


@pytest.mark.parametrize(
    ("tenders", "amount", "status", "code"),
    [
        (
            [{"method": "cash", "amount": money("10.00")}],
            "10.00",
            422,
            "method_not_allowed_on_channel",
        ),
        (
            [{"method": "card", "payment_method": "pm_x", "amount": money("5.00")}],
            "10.00",
            422,
            "tender_sum_mismatch",
        ),
        (
            [{"method": "gift_card", "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "pin": "1"}],
            "10.00",
            404,
            "code_not_recognised",
        ),
    ],
)
def test_bad_requests_change_nothing(shop, tenders, amount, status, code, invariants) -> None:
    response = post(shop.web, "/api/v1/payments", {"amount": money(amount), "tenders": tenders})
    assert response.json()["code"] == code, response.json()
    assert response.status_code == status
    assert not Payment.objects.exists()
    invariants()


def test_refusals_name_the_tender_and_hold_nothing(shop, invariants) -> None:
    from tests.factories import CustomerFactory
    from tests.wallet.factories import issue_card
    from wallet.services import gift_card_block

    other = issue_card(
        shop.merchant, "30.00", customer=CustomerFactory.create(merchant=shop.merchant)
    )
    blocked = issue_card(shop.merchant, "30.00", customer=shop.customer).gift_card
    gift_card_block(gift_card=blocked, reason="reported stolen", actor="user:ops")
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("100.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {"method": "gift_card", "gift_card": str(other.gift_card.public_id)},
                {"method": "gift_card", "gift_card": str(blocked.public_id)},
                {
                    "method": "gift_card",
                    "gift_card": str(shop.gift_card.public_id),
                    "amount": money("60.00"),
                },
                {"method": "card", "bank_card": str(shop.bank_card.public_id)},
            ],
        },
    )
    # The first refusal leads, with its code's one status.
    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "instrument_not_found"
    codes = {e["field"]: e["code"] for e in response.json()["errors"]}
    assert codes == {
        "tenders[0]": "instrument_not_found",  # someone else's card is simply not found
        "tenders[1].gift_card": "instrument_blocked",
    }
    assert not Payment.objects.exists()
    assert available(shop.gift_card) == Decimal("50.00")
    invariants()


def test_insufficient_funds_carries_the_available_amount(shop) -> None:
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("100.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {
                    "method": "gift_card",
                    "gift_card": str(shop.gift_card.public_id),
                    "amount": money("60.00"),
                },
                {"method": "card", "bank_card": str(shop.bank_card.public_id)},
            ],
        },
    )
    assert response.status_code == 402
    body = response.json()
    assert (body["code"], body["field"]) == ("insufficient_funds", "tenders[0]")
    assert body["meta"] == {"available": money("50.00")}


def test_currency_mismatch(shop) -> None:
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": {"amount": "10.00", "currency": "USD"},
            "tenders": [{"method": "gift_card", "code": shop.gift_card_code, "pin": "4321"}],
        },
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (
        "currency_mismatch",
        "tenders[0]",
    )


def test_points_need_an_identified_customer(shop) -> None:
    response = post(
        shop.web,
        "/api/v1/payments",
        {"amount": money("1.00"), "tenders": [{"method": "loyalty_points", "points": 100}]},
    )
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (
        "customer_required",
        "tenders[0]",
    )


def test_capture_above_the_authorised_amount_is_refused(shop, invariants) -> None:
    payment = web_split(shop).json()
    response = post(
        shop.web, f"/api/v1/payments/{payment['id']}/capture", {"amount": money("100.01")}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "capture_exceeds_authorized"
    assert Payment.objects.get(public_id=payment["id"]).status == Payment.Status.AUTHORIZED
    invariants()


def test_till_sale_with_a_voucher_captured_at_once_then_refunded(shop, invariants) -> None:
    response = post(
        shop.till_api,
        "/api/v1/payments",
        {
            "amount": money("25.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [{"method": "cash"}, {"method": "voucher", "code": shop.voucher_code}],
            "capture": True,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "captured"
    assert [(t["method"], t["captured_amount"]["amount"]) for t in body["tenders"]] == [
        ("voucher", "10.00"),
        ("cash", "15.00"),
    ]
    voucher_tender = Tender.objects.select_related("voucher_redemption").get(method="voucher")
    assert voucher_tender.voucher_redemption is not None
    assert voucher_tender.voucher_redemption.status == VoucherRedemption.Status.CONSUMED
    invariants()

    refund = post(
        shop.till_api, f"/api/v1/payments/{body['id']}/refunds", {"amount": money("25.00")}
    )
    assert refund.status_code == 201, refund.json()
    voucher_tender.voucher_redemption.refresh_from_db()
    assert voucher_tender.voucher_redemption.status == VoucherRedemption.Status.REINSTATED
    invariants()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "tenders": [
                    {
                        "method": "card",
                        "payment_method": "pm_x",
                        "amount": {"amount": "10.00", "currency": "USD"},
                    }
                ]
            },
            "tenders[0].amount",
        ),
        (
            {
                "tenders": [{"method": "card", "payment_method": "pm_x"}],
                "basket": [
                    {
                        "sku": "A",
                        "quantity": 1,
                        "unit_price": {"amount": "10.00", "currency": "USD"},
                    }
                ],
            },
            "basket[0].unit_price",
        ),
    ],
)
def test_amounts_in_another_currency_are_refused_where_they_stand(shop, body, field) -> None:
    response = post(shop.web, "/api/v1/payments", {"amount": money("10.00"), **body})
    assert response.status_code == 400, response.json()
    assert (response.json()["code"], response.json()["field"]) == ("currency_mismatch", field)
    assert not Payment.objects.exists()


def test_a_refund_allocation_in_another_currency_is_refused(shop) -> None:
    payment = _captured(shop)
    tender = payment["tenders"][0]["id"]
    response = post(
        shop.web,
        f"/api/v1/payments/{payment['id']}/refunds",
        {
            "amount": money("5.00"),
            "policy": "explicit",
            "allocations": [{"tender": tender, "amount": {"amount": "5.00", "currency": "USD"}}],
        },
    )
    assert response.status_code == 400, response.json()
    assert (response.json()["code"], response.json()["field"]) == (
        "currency_mismatch",
        "allocations[0].amount",
    )
