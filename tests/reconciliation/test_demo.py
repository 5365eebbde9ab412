"""The demo's settlements: five days of two tills and the web shop, one day with a difference,
created once, the figures equal to the payments behind them."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum

from payments.models import Tender
from reconciliation.demo import seed_demo
from reconciliation.models import Settlement, SettlementLine
from tests.factories import StoreFactory, TerminalFactory

pytestmark = pytest.mark.django_db


def test_demo_settlements_show_several_days_and_a_difference() -> None:
    store = StoreFactory.create(code="AMS-01")
    for code in ("T1", "T2"):
        TerminalFactory.create(store=store, code=code)
    with transaction.atomic():  # as seed_demo runs it
        lines = seed_demo(merchant=store.merchant, store=store)
    assert "15 settlements" in lines[0]
    assert seed_demo(merchant=store.merchant, store=store) == [
        "Reconciliation: demo settlements exist already."
    ]
    rows = Settlement.objects.filter(merchant=store.merchant)
    assert Counter(rows.values_list("status", flat=True)) == {
        "reconciled": 8,
        "reconciled_with_differences": 1,
        "closed": 3,
        "open": 3,
    }
    short = rows.get(status="reconciled_with_differences")
    assert (short.till_label, short.cash_variance.amount) == ("T1", Decimal("-5.00"))
    assert short.reason
    assert {r.till_label for r in rows} == {"T1", "T2", "web"}
    assert len({r.business_day for r in rows}) == 5
    for method in ("cash", "external_card", "gift_card"):
        sold = Tender.objects.filter(method=method, captured_amount__gt=0).aggregate(
            total=Sum("captured_amount")
        )["total"]
        assert (
            SettlementLine.objects.filter(method=method).aggregate(total=Sum("sales"))["total"]
            == sold
        ), method
