from collections.abc import Callable
from decimal import Decimal

import pytest
from moneyed import Money

from customers.models import Customer
from merchants.models import Merchant
from tests.factories import CustomerFactory
from wallet.ledger import ledger_verify


@pytest.fixture
def customer(merchant: Merchant) -> Customer:
    return CustomerFactory.create(merchant=merchant)


@pytest.fixture
def eur() -> Callable[[str], Money]:
    return lambda amount: Money(Decimal(amount), "EUR")


@pytest.fixture
def ledger_is_consistent() -> Callable[[], None]:
    def check() -> None:
        assert ledger_verify() == []

    return check
