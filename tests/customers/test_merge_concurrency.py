"""Tills merging overlapping customers at once: nothing lost, nothing duplicated.

Real threads, each with its own PostgreSQL connection, start together at a barrier.
"""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from customers.errors import CustomersAlreadyMerged
from customers.models import Customer, CustomerMerge, Identifier
from customers.normalisation import loyalty_card_number
from customers.policy import PresentedIdentifier
from customers.services import customer_identify, customer_merge
from tests.customers.factories import IdentifierFactory
from tests.factories import CustomerFactory, MerchantFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def race(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads started together; each returns its result or its exception."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def assert_one_live_customer_holds(merchant, values: set[str]) -> Customer:
    live = Customer.objects.filter(merchant=merchant, merged_into__isnull=True)
    assert live.count() == 1
    survivor = live.get()
    rows = list(Identifier.objects.filter(merchant=merchant).values_list("value", "customer_id"))
    assert sorted(value for value, _ in rows) == sorted(values)  # each exactly once
    assert {customer for _, customer in rows} == {survivor.pk}
    return survivor


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_overlapping_merges_keep_every_identifier_once(round_: int) -> None:
    merchant = MerchantFactory.create()
    customers = CustomerFactory.create_batch(6, merchant=merchant)
    values = set()
    for index, customer in enumerate(customers):
        for suffix in ("a", "b"):
            value = f"c{index}{suffix}@example.com"
            IdentifierFactory.create(customer=customer, value=value)
            values.add(value)
    # A chain c0-c1-…-c5 plus c5-c0 closing the ring: every pair overlaps with two others,
    # and whichever merge comes last finds its two customers already one.
    pairs = [(customers[i], customers[(i + 1) % 6]) for i in range(6)]

    def merge(survivor: Customer, absorbed: Customer) -> Callable[[], Any]:
        return lambda: customer_merge(
            survivor=survivor, absorbed=absorbed, reason="race", source="staff_api", actor="till"
        )

    jobs = [merge(survivor, absorbed) for survivor, absorbed in pairs]

    results = race(jobs)

    unexpected = [r for r in results if isinstance(r, Exception)]
    assert [type(error) for error in unexpected] == [CustomersAlreadyMerged]
    assert CustomerMerge.objects.filter(merchant=merchant).count() == 5
    survivor = assert_one_live_customer_holds(merchant, values)
    for customer in customers:
        customer.refresh_from_db()
        assert customer.pk == survivor.pk or customer.merged_into_id is not None


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_identifications_merge_and_attach_exactly_once(round_: int) -> None:
    merchant = MerchantFactory.create()
    card = loyalty_card_number(f"6099000000{round_}")
    IdentifierFactory.create(customer__merchant=merchant, value="a@example.com", verified=True)
    IdentifierFactory.create(
        customer__merchant=merchant, kind="loyalty_card", value=card, verified=True
    )
    IdentifierFactory.create(
        customer__merchant=merchant, kind="phone", value="+31612345678", verified=True
    )
    email = PresentedIdentifier("email", "A@example.com", verified=True)
    loyalty = PresentedIdentifier("loyalty_card", card, verified=True)
    phone = PresentedIdentifier("phone", "06 12345678", verified=True)
    new = PresentedIdentifier("device", "Phone-Of-Ada")

    def present(*identifiers: PresentedIdentifier) -> Callable[[], Any]:
        return lambda: customer_identify(merchant=merchant, identifiers=identifiers, channel="pos")

    results = race(
        [present(email, loyalty, new), present(loyalty, phone, new), present(phone, email, new)]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    survivor = assert_one_live_customer_holds(
        merchant, {"a@example.com", card, "+31612345678", "phone-of-ada"}
    )
    assert CustomerMerge.objects.filter(merchant=merchant).count() == 2
    assert {r.customer for r in results} == {survivor}


def test_concurrent_first_sightings_create_one_customer() -> None:
    merchant = MerchantFactory.create()
    card = PresentedIdentifier("loyalty_card", loyalty_card_number("6011000000001"))
    results = race(
        [
            lambda: customer_identify(merchant=merchant, identifiers=[card], channel="pos")
            for _ in range(4)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert Customer.objects.filter(merchant=merchant).count() == 1
    assert Identifier.objects.filter(merchant=merchant).count() == 1
    assert sorted(r.outcome for r in results) == ["created", "matched", "matched", "matched"]
