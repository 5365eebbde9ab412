"""Card figures from Stripe's balance transactions (localstripe): gross, fee and net of the
web shop's card tenders and refunds. Runs once `payments.stripe_reconcile` is merged."""

import pytest

from reconciliation.services import settlement_compute
from tests.reconciliation.conftest import Day

pytest.importorskip("payments.stripe_reconcile")

pytestmark = pytest.mark.django_db


def test_card_totals_match_the_balance_transactions_fees_included(day: Day) -> None:
    (web,) = settlement_compute(
        merchant=day.shop.merchant, store=None, business_day=day.business_day
    )
    card = web.lines.get(method="card", kind="day")
    assert web.card_gross == card.net  # a 35.00 charge and a 20.00 refund
    assert web.card_net == web.card_gross - web.card_fee
    assert web.card_fee.amount >= 0
    codes = {difference["code"] for difference in web.differences}
    assert not codes & {"card_variance", "card_unmatched"}, web.differences
    assert web.stripe_unmatched["kassa"] == []
