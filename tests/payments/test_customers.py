"""Payments and the identity graph: identifying at checkout, the purchase summary, merges."""

import re
import uuid
from decimal import Decimal

import pytest
from django.core import mail

from customers.models import Customer
from customers.normalisation import loyalty_card_number
from customers.services import customer_merge, customer_unmerge
from merchants.models import ApiKey
from merchants.services import api_key_issue
from payments.models import Payment
from tests.customers.factories import IdentifierFactory, LoyaltyCardFactory
from tests.factories import CustomerFactory, StoreFactory, TerminalFactory
from tests.payments.conftest import _client, money
from tests.payments.test_flows import post

pytestmark = pytest.mark.django_db


def test_a_till_identifies_the_customer_in_the_payment_itself(shop) -> None:
    card = loyalty_card_number("601000000777")
    response = post(
        shop.till_api,
        "/api/v1/payments",
        {
            "amount": money("12.00"),
            "identifiers": [{"kind": "loyalty_card", "value": card}],
            "tenders": [{"method": "cash"}],
            "capture": True,
        },
    )
    assert response.status_code == 201, response.json()
    customer = Customer.objects.get(identifiers__value=card)
    assert response.json()["customer"] == str(customer.public_id)


def test_purchase_summary_spans_web_and_store(shop) -> None:
    post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("30.00"),
            "customer": str(shop.customer.public_id),
            "capture": True,
            "tenders": [{"method": "gift_card", "gift_card": str(shop.gift_card.public_id)}],
        },
    )
    post(
        shop.till_api,
        "/api/v1/payments",
        {
            "amount": money("20.00"),
            "customer": str(shop.customer.public_id),
            "capture": True,
            "tenders": [{"method": "cash"}],
        },
    )
    summary = shop.web.get(f"/api/v1/customers/{shop.customer.public_id}/purchases").json()
    by_channel = {row["channel"]: row for row in summary["channels"]}
    assert by_channel["web"]["spent"] == money("30.00")
    assert by_channel["pos"]["spent"] == money("20.00")
    assert by_channel["pos"]["points_earned"] == 20


def test_basket_lines_must_add_up_to_the_amount(shop) -> None:
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("30.00"),
            "basket": [{"sku": "TEA", "quantity": 2, "unit_price": money("12.00")}],
            "tenders": [{"method": "card", "payment_method": "pm_x"}],
        },
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (
        "basket_total_mismatch",
        "basket",
    )


def test_a_stripe_js_payment_method_pays_without_a_saved_card(shop, stripe, invariants) -> None:
    payment_method = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2031, "cvc": "321"},
        }
    )
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("25.00"),
            "basket": [
                {"sku": "TEA", "name": "Green tea", "quantity": 2, "unit_price": money("12.50")}
            ],
            "tenders": [{"method": "card", "payment_method": payment_method.id}],
            "capture": True,
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "captured"
    invariants()


def test_merge_moves_payments_and_unmerge_brings_them_back(shop) -> None:
    other = CustomerFactory.create(merchant=shop.merchant)
    post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("10.00"),
            "customer": str(shop.customer.public_id),
            "capture": True,
            "tenders": [{"method": "gift_card", "gift_card": str(shop.gift_card.public_id)}],
        },
    )
    payment = Payment.objects.get()
    merge = customer_merge(
        survivor=other, absorbed=shop.customer, reason="same person", source="test", actor="test"
    )
    payment.refresh_from_db()
    assert payment.customer == other
    shop.gift_card.refresh_from_db()
    assert shop.gift_card.customer == other, "the wallet moved with the payments"
    customer_unmerge(merge=merge, reason="not the same person", actor="test")
    payment.refresh_from_db()
    assert payment.customer == shop.customer
    assert uuid.UUID(str(payment.public_id))
    assert Decimal(payment.captured_amount.amount) == Decimal("10.00")


def test_a_merge_landing_between_planning_and_hold_sends_the_payment_to_the_survivor(shop) -> None:
    from moneyed import Money

    from payments import methods
    from payments.planning import plan_tenders
    from payments.services import common, create

    request = common.PaymentRequest(
        amount=Money("10.00", "EUR"),
        channel="web",
        customer=shop.customer,
        tenders=[common.TenderRequest(method="gift_card", gift_card=str(shop.gift_card.public_id))],
    )
    resolved = methods.resolve_tenders(api_key=shop.web_key, request=request, client_ip=None)
    plan = plan_tenders(amount=request.amount, channel="web", sources=[r.source for r in resolved])
    survivor = CustomerFactory.create(merchant=shop.merchant)
    customer_merge(
        survivor=survivor, absorbed=shop.customer, reason="same", source="test", actor="t"
    )
    payment = create._hold(
        api_key=shop.web_key, idempotency_key="k", request=request, plan=plan, resolved=resolved
    )
    assert payment.customer == survivor


# -- issue 9: a typed email finds the customer but does not unlock their wallet ---------------


def _strange_till(shop):
    """A till of another store of the same merchant, which has never seen the customer."""
    terminal = TerminalFactory.create(store=StoreFactory.create(merchant=shop.merchant, code="UT"))
    _, raw = api_key_issue(
        merchant=shop.merchant, scope=ApiKey.Scope.TERMINAL, name="utrecht", terminal=terminal
    )
    return _client(raw)


def _with_email_and_card(shop) -> str:
    IdentifierFactory.create(customer=shop.customer, value="ada@example.com", verified=True)
    return LoyaltyCardFactory.create(customer=shop.customer).value


def _sale(client, presented: dict, tender: dict, amount: str = "0.50"):
    return post(
        client,
        "/api/v1/payments",
        {
            "amount": money(amount),
            "identifiers": [presented],
            "tenders": [tender, {"method": "cash"}],
            "capture": True,
        },
    )


def test_a_typed_email_cannot_spend_the_wallet(shop) -> None:
    _with_email_and_card(shop)
    till = _strange_till(shop)
    typed = {"kind": "email", "value": "ada@example.com"}
    for tender in (
        {
            "method": "gift_card",
            "gift_card": str(shop.gift_card.public_id),
            "amount": money("0.50"),
        },
        {"method": "loyalty_points", "points": 50},
        {"method": "card", "bank_card": str(shop.bank_card.public_id), "amount": money("0.50")},
    ):
        refused = _sale(till, typed, tender, amount="1.00")
        assert refused.status_code == 403, (tender, refused.json())
        assert refused.json()["code"] == "strong_presentation_required"
        assert refused.json()["field"] == "tenders[0]"
    assert not Payment.objects.exists()
    cash = post(
        till,
        "/api/v1/payments",
        {"amount": money("1.00"), "identifiers": [typed], "tenders": [{"method": "cash"}]},
    )
    assert cash.status_code == 201, "a typed email still attaches the sale"
    assert cash.json()["customer"] == str(shop.customer.public_id)
    customer = str(shop.customer.public_id)
    for path in (f"/api/v1/customers/{customer}/purchases", f"/api/v1/customers/{customer}/wallet"):
        assert till.get(path).status_code == 403, path


def test_a_scanned_loyalty_card_spends_points_but_not_the_gift_card(shop) -> None:
    card = _with_email_and_card(shop)
    till = _strange_till(shop)
    scanned = {"kind": "loyalty_card", "value": card, "presentation": "scanned"}
    points = _sale(till, scanned, {"method": "loyalty_points", "points": 50}, amount="5.00")
    assert points.status_code == 201, points.json()
    gift = {
        "method": "gift_card",
        "gift_card": str(shop.gift_card.public_id),
        "amount": money("0.50"),
    }
    refused = _sale(till, scanned, gift, amount="5.00")
    assert (refused.status_code, refused.json()["code"]) == (403, "strong_presentation_required")


def test_a_gift_card_code_and_pin_still_pay_after_a_typed_email(shop) -> None:
    _with_email_and_card(shop)
    till = _strange_till(shop)
    typed = {"kind": "email", "value": "ada@example.com"}
    tender = {
        "method": "gift_card",
        "code": shop.gift_card_code,
        "pin": "4321",
        "amount": money("0.50"),
    }
    response = _sale(till, typed, tender, amount="1.00")
    assert response.status_code == 201, response.json()


def test_a_code_read_back_lets_the_till_spend_the_wallet(
    shop, django_capture_on_commit_callbacks
) -> None:
    _with_email_and_card(shop)
    till = _strange_till(shop)
    customer = str(shop.customer.public_id)
    till.post(
        "/api/v1/customers/identify",
        {"identifiers": [{"kind": "email", "value": "ada@example.com"}]},
        format="json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = till.post(
            f"/api/v1/customers/{customer}/presentation-codes", {"via": "email"}, format="json"
        )
    assert sent.status_code == 201, sent.json()
    found = re.search(r"\b(\d{6})\b", str(mail.outbox[0].body))
    assert found is not None
    verified = till.post(
        f"/api/v1/customers/{customer}/presentation-codes/verify",
        {"code": found.group(1)},
        format="json",
    )
    assert verified.json()["strength"] == "wallet"
    response = post(
        till,
        "/api/v1/payments",
        {
            "amount": money("1.00"),
            "customer": customer,
            "tenders": [
                {
                    "method": "gift_card",
                    "gift_card": str(shop.gift_card.public_id),
                    "amount": money("0.50"),
                },
                {"method": "card", "bank_card": str(shop.bank_card.public_id)},
            ],
            "capture": True,
        },
    )
    assert response.status_code == 201, response.json()
    assert till.get(f"/api/v1/customers/{customer}/purchases").status_code == 200


def test_the_web_shop_key_spends_the_wallet_without_a_presentation(shop) -> None:
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("3.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {"method": "loyalty_points", "points": 100},
                {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
            ],
            "capture": True,
        },
    )
    assert response.status_code == 201, response.json()


def test_a_typed_email_attaches_a_sale_by_customer_id(shop) -> None:
    _with_email_and_card(shop)
    till = _strange_till(shop)
    till.post(
        "/api/v1/customers/identify",
        {"identifiers": [{"kind": "email", "value": "ada@example.com"}]},
        format="json",
    )
    customer = str(shop.customer.public_id)
    cash = {"amount": money("5.00"), "customer": customer, "tenders": [{"method": "cash"}]}
    assert post(till, "/api/v1/payments", cash).status_code == 201
    gift = {
        "amount": money("5.00"),
        "customer": customer,
        "tenders": [{"method": "gift_card", "gift_card": str(shop.gift_card.public_id)}],
    }
    refused = post(till, "/api/v1/payments", gift)
    assert (refused.status_code, refused.json()["code"]) == (403, "strong_presentation_required")
