"""Real threads against PostgreSQL: concurrent tills spending one wallet, duplicate retries."""

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import pytest
from django.db import connection

from payments.models import Payment
from tests.payments.conftest import available, money, till_sale
from tests.payments.test_flows import post

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


T = TypeVar("T")


def race(count: int, work: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(count)
    results: list[T] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait()
            result = work(index)
            with lock:
                results.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_tills_spending_one_gift_card_and_points_never_overdraw(shop, invariants) -> None:
    """Each sale: 8.00 from the gift card, 300 points (3.00), the rest in cash, captured at once.
    The card covers six sales (48.00 of 50.00) and the points six (1800 of 2000)."""
    sale = {
        "amount": money("12.00"),
        "customer": str(shop.customer.public_id),
        "tenders": [
            {
                "method": "gift_card",
                "gift_card": str(shop.gift_card.public_id),
                "amount": money("8.00"),
            },
            {"method": "loyalty_points", "points": 300},
            {"method": "cash"},
        ],
        "capture": True,
    }
    statuses = race(20, lambda i: post(shop.till_api, "/api/v1/payments", sale).status_code)
    # Exactly six sales fit: the card has 50.00 for 8.00 each, the points 2000 for 300 each
    # (each sale also earns 9: 8.00 + 1.00 paid with money); every other till is refused.
    assert Counter(statuses) == {201: 6, 402: 14}
    assert Payment.objects.filter(status=Payment.Status.CAPTURED).count() == 6
    assert available(shop.gift_card) == Decimal("2.00")
    assert available(shop.loyalty) == 2000 - 6 * 300 + 6 * 9
    invariants()


def test_ten_concurrent_retries_with_one_key_create_one_payment(shop, invariants) -> None:
    key = str(uuid.uuid4())
    body = {
        "amount": money("30.00"),
        "customer": str(shop.customer.public_id),
        "tenders": [
            {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
        ],
        "capture": True,
    }
    _one_payment_answers(race(10, lambda i: post(shop.web, "/api/v1/payments", body, key=key)))
    assert available(shop.gift_card) == Decimal("20.00")
    invariants()


def test_ten_concurrent_retries_of_one_till_sale_create_one_payment(shop, invariants) -> None:
    """The till's one-call sale (payments.services.sale_fast): the first retry's call writes
    the sale and its idempotency record; the others wait on that record's key, then replay."""
    key = str(uuid.uuid4())
    body = till_sale(shop)
    _one_payment_answers(race(10, lambda i: post(shop.till_api, "/api/v1/payments", body, key=key)))
    assert available(shop.gift_card) == Decimal("45.00")
    assert available(shop.loyalty) == 2000 - 200 + 10
    invariants()


def _one_payment_answers(responses: list) -> None:
    """One payment exists; every retry got it (201, a replay) or was told to wait (409)."""
    assert Payment.objects.count() == 1
    payment_id = str(Payment.objects.get().public_id)
    for response in responses:
        assert response.status_code in (201, 409), response.json()
        if response.status_code == 201:
            assert response.json()["id"] == payment_id
