import pytest

from merchants.models import ApiKey
from merchants.services import api_key_issue
from tests.factories import StoreFactory, TerminalFactory
from tills.demo import seed_demo
from tills.models import OfflineAllowance, OfflineShortfall
from wallet.ledger import ledger_verify

pytestmark = pytest.mark.django_db


def test_the_demo_has_an_allowance_and_a_shortfall_the_admin_lists(admin_client) -> None:
    store = StoreFactory.create()
    terminal = TerminalFactory.create(store=store, code="T1")
    api_key_issue(
        merchant=store.merchant, scope=ApiKey.Scope.TERMINAL, name="demo till", terminal=terminal
    )
    assert "7.00 short" in seed_demo(merchant=store.merchant, store=store)[0]
    assert seed_demo(merchant=store.merchant, store=store) == []  # once
    shortfall = OfflineShortfall.objects.get()
    assert shortfall.card_paid.amount == 5
    allowance = OfflineAllowance.objects.get(status="active")
    assert allowance.remaining.amount == 143
    assert ledger_verify() == []
    page = admin_client.get("/admin/tills/offlineshortfall/").content.decode()
    assert "DEMO-OFFLINE-1" in page or str(shortfall.payment_id) in page
