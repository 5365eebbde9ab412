"""Payments and the identity graph: identifying at checkout, the purchase summary, merges."""

import uuid
from decimal import Decimal

import pytest

from customers.models import Customer
from customers.normalisation import loyalty_card_number
from customers.services import customer_merge, customer_unmerge
from payments.models import Payment
from tests.factories import CustomerFactory
from tests.payments.conftest import money
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

    from payments import methods, services
    from payments.planning import plan_tenders

    request = services.PaymentRequest(
        amount=Money("10.00", "EUR"),
        channel="web",
        customer=shop.customer,
        tenders=[
            services.TenderRequest(method="gift_card", gift_card=str(shop.gift_card.public_id))
        ],
    )
    resolved = methods.resolve_tenders(api_key=shop.web_key, request=request, client_ip=None)
    plan = plan_tenders(amount=request.amount, channel="web", sources=[r.source for r in resolved])
    survivor = CustomerFactory.create(merchant=shop.merchant)
    customer_merge(
        survivor=survivor, absorbed=shop.customer, reason="same", source="test", actor="t"
    )
    payment = services._hold(
        api_key=shop.web_key, idempotency_key="k", request=request, plan=plan, resolved=resolved
    )
    assert payment.customer == survivor
