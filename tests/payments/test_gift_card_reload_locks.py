"""A capture that reloads a gift card locks the card's ledger account with the payment's other
wallet rows, in one sweep by pk (the canonical order), not after them."""

import re
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.actors import system_actor
from payments.models import Payment
from payments.services.capture import payment_capture
from tests.payments.conftest import Shop, money

pytestmark = pytest.mark.django_db


def _locked_account_ids(sql: str) -> set[int]:
    found = re.search(r'"wallet_ledgeraccount"\."id" IN \(([^)]*)\)', sql)
    return {int(pk) for pk in found.group(1).split(",")} if found else set()


def _reload(shop: Shop, *, capture: bool) -> dict[str, Any]:
    line = {
        "sku": "GC",
        "quantity": 1,
        "unit_price": money("15.00"),
        "kind": "gift_card_reload",
        "gift_card": str(shop.gift_card.public_id),
    }
    answer = shop.till_api.post(
        "/api/v1/payments",
        {
            "amount": money("15.00"),
            "customer": str(shop.customer.public_id),
            "capture": capture,
            "tenders": [{"method": "cash"}],
            "basket": [line],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert answer.status_code == 201, answer.json()
    return dict(answer.json())


def _first_sweep(queries: CaptureQueriesContext) -> set[int]:
    return next(
        _locked_account_ids(q["sql"])
        for q in queries.captured_queries
        if "FOR UPDATE" in q["sql"] and "wallet_ledgeraccount" in q["sql"]
    )


def test_a_capture_locks_the_reloaded_card_with_the_points_account(shop: Shop) -> None:
    assert shop.gift_card.account_id < shop.loyalty.account_id  # the order the sweep keeps
    payment = Payment.objects.get(public_id=_reload(shop, capture=False)["id"])
    with CaptureQueriesContext(connection) as queries:
        captured = payment_capture(payment=payment, actor=system_actor("test"))
    assert (captured.status, captured.points_earned > 0) == (Payment.Status.CAPTURED, True)
    assert {shop.gift_card.account_id, shop.loyalty.account_id} <= _first_sweep(queries)


def test_a_sale_captured_at_once_locks_the_reloaded_card_with_the_points_account(
    shop: Shop,
) -> None:
    with CaptureQueriesContext(connection) as queries:
        sold = _reload(shop, capture=True)
    assert (sold["status"], sold["points_earned"] > 0) == ("captured", True)
    assert {shop.gift_card.account_id, shop.loyalty.account_id} <= _first_sweep(queries)
