"""The portal's demo data: Ada's purchases and wallet history, created once, ledger intact."""

import pytest

from customers.demo import seed_demo as customers_seed
from payments.models import Payment
from portal.demo import seed_demo
from portal.selectors import instrument_history
from tests.factories import StoreFactory, TerminalFactory
from wallet.demo import seed_demo as wallet_seed
from wallet.ledger import ledger_verify
from wallet.models import GiftCard

pytestmark = pytest.mark.django_db


def test_portal_demo_is_idempotent_and_gives_ada_a_history() -> None:
    store = StoreFactory.create(name="Amsterdam Centrum")
    TerminalFactory.create(store=store)
    customers_seed(merchant=store.merchant, store=store)
    wallet_seed(merchant=store.merchant, store=store)
    seed_demo(merchant=store.merchant, store=store)
    seed_demo(merchant=store.merchant, store=store)
    payments = Payment.objects.filter(customer__first_name="Ada")
    assert sorted(payments.values_list("channel", flat=True)) == ["pos", "web"]
    assert payments.get(channel="pos").refunds.count() == 1
    reasons = {
        line.reason
        for card in GiftCard.objects.filter(customer__first_name="Ada")
        for line in instrument_history(ledger_account_id=card.account_id)
    }
    assert {
        "Purchase at Amsterdam Centrum",
        "Refund of a purchase at Amsterdam Centrum",
    } <= reasons, reasons
    assert "Adjustment: goodwill for a late delivery" in reasons
    assert ledger_verify() == []
