"""Customers with and without `personalisation` consent, and a small synthetic history."""

from collections.abc import Callable
from pathlib import Path

import pytest

from customers.models import Channel, ConsentPurpose, Customer, Identifier
from customers.normalisation import identifier_normalise
from customers.services import consent_record
from insights.services import history_import
from insights.synthetic import history_write
from merchants.models import Merchant


def consent(customer: Customer, granted: bool = True) -> None:
    consent_record(
        customer=customer,
        purpose=ConsentPurpose.PERSONALISATION,
        granted=granted,
        channel=Channel.WEB,
        evidence="test",
    )


@pytest.fixture
def make_customer(merchant: Merchant) -> Callable[..., Customer]:
    def make(ref: str, *, consented: bool = True) -> Customer:
        customer = Customer.objects.create(merchant=merchant, first_name=ref)
        Identifier.objects.create(
            merchant=merchant,
            customer=customer,
            kind=Identifier.Kind.POS_CUSTOMER,
            value=identifier_normalise(kind=Identifier.Kind.POS_CUSTOMER, value=ref),
            source_channel=Channel.POS,
        )
        if consented:
            consent(customer)
        return customer

    return make


@pytest.fixture
def history_csv(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    history_write(path, customers=40, seed=3)
    return path


@pytest.fixture
def imported(merchant: Merchant, history_csv: Path) -> dict[str, Customer]:
    """The synthetic history imported, every customer consenting: customer_ref -> customer."""
    report = history_import(merchant=merchant, lines=history_csv.open(encoding="utf-8"))
    assert not report.rejected
    customers = {}
    for identifier in Identifier.objects.filter(merchant=merchant).select_related("customer"):
        consent(identifier.customer)
        customers[identifier.value.upper()] = identifier.customer
    return customers
