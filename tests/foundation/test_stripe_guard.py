"""Invariant 6 is structural: the Stripe wrapper refuses to run inside a transaction."""

import pytest
from django.db import transaction

from config.stripe import NetworkCallInTransaction, stripe_call, stripe_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stripe_call_inside_a_transaction_is_refused_before_it_reaches_stripe(stripe) -> None:
    reached: list[str] = []

    def operation() -> str:
        reached.append("stripe")
        return "answered"

    with pytest.raises(NetworkCallInTransaction), transaction.atomic():
        stripe_call(operation)
    assert reached == []


def test_a_stripe_call_outside_any_transaction_runs(stripe) -> None:
    customer = stripe_call(stripe_client().v1.customers.create, {"email": "guard@example.com"})
    assert customer.id.startswith("cus_")
