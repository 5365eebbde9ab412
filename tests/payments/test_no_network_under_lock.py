"""Invariant 6: no Stripe call happens while a transaction (and so a row lock) is open."""

import pytest
from django.db import connection

from payments import stripe_gateway
from tests.payments.conftest import money, saved_card
from tests.payments.test_flows import post

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_stripe_call_runs_outside_any_transaction(shop, stripe, monkeypatch) -> None:
    calls: list[tuple[str, bool]] = []
    real_call = stripe_gateway.stripe_call

    def observed(operation, *args, **kwargs):  # the real call still happens
        calls.append((operation.__name__, connection.in_atomic_block))
        return real_call(operation, *args, **kwargs)

    monkeypatch.setattr(stripe_gateway, "stripe_call", observed)
    split = {
        "amount": money("80.00"),
        "customer": str(shop.customer.public_id),
        "tenders": [
            {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
            {"method": "card", "bank_card": str(shop.bank_card.public_id)},
        ],
    }
    captured = post(shop.web, "/api/v1/payments", {**split, "capture": True}).json()
    post(shop.web, f"/api/v1/payments/{captured['id']}/refunds", {"amount": money("40.00")})
    shop.gift_card.refresh_from_db()
    voided = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("10.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [{"method": "card", "bank_card": str(shop.bank_card.public_id)}],
        },
    ).json()
    post(shop.web, f"/api/v1/payments/{voided['id']}/void", {})
    declining = saved_card(stripe, shop.customer, number="4000000000000341")
    declined = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("10.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [{"method": "card", "bank_card": str(declining.public_id)}],
        },
    )
    assert declined.status_code == 402

    operations = {name for name, _ in calls}
    assert {"create", "confirm", "capture", "cancel", "retrieve"} <= operations, operations
    assert [name for name, in_transaction in calls if in_transaction] == []
