"""Card figures from Stripe's balance transactions (localstripe): gross, fee and net of the
web shop's card tenders and refunds."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from config.embedded import free_port
from payments import stripe_reconcile
from payments.models import Tender
from reconciliation.models import Settlement
from reconciliation.selectors import day_window
from reconciliation.services import settlement_compute, settlements_compute_day
from tests.factories import StoreFactory
from tests.reconciliation.conftest import Day, eur

pytestmark = pytest.mark.django_db


def test_card_totals_match_the_balance_transactions_fees_included(day: Day) -> None:
    (web,) = settlement_compute(
        merchant=day.shop.merchant, store=None, business_day=day.business_day
    )
    card = web.lines.get(method="card", kind="day")
    assert web.card_gross == card.net  # a 35.00 charge and a 20.00 refund
    assert web.card_fee == eur("0.00")  # localstripe books no fee on its transactions
    assert web.card_net == web.card_gross - web.card_fee
    assert web.stripe_unmatched == {"kassa": [], "stripe": []}
    assert web.differences == []


def _charge_at_stripe(stripe: Any, day: Day, cents: int, metadata: dict[str, str]) -> str:
    """A charge made at Stripe, not through Kassa; its balance transaction's id."""
    intent = stripe.v1.payment_intents.create(
        params={
            "amount": cents,
            "currency": "eur",
            "payment_method": day.shop.bank_card.payment_method_id,
            "confirm": True,
            "metadata": metadata,
        }
    )
    charge = intent.latest_charge
    if isinstance(charge, str):
        charge = stripe.v1.charges.retrieve(charge)
    return str(charge.balance_transaction)


def test_stripe_transactions_of_no_tender_show_only_on_their_merchants_web_row(
    day: Day, stripe
) -> None:
    """A shared Stripe account: a dashboard charge naming no merchant is on nobody's row; one
    naming this merchant in its metadata is listed on its web row as a difference."""
    _charge_at_stripe(stripe, day, 999, {})
    mine = _charge_at_stripe(stripe, day, 1234, {"kassa_merchant": str(day.shop.merchant.pk)})
    (web,) = settlement_compute(
        merchant=day.shop.merchant, store=None, business_day=day.business_day
    )
    assert web.stripe_unmatched == {"kassa": [], "stripe": [mine]}
    assert web.differences == [
        {
            "code": "stripe_orphans",
            "amount": "12.34",
            "detail": "1 Stripe transactions of the merchant name no tender",
        }
    ]
    assert web.card_gross == web.lines.get(method="card").net  # listed, not added


def test_a_refund_made_directly_at_stripe_is_a_difference(day: Day, stripe) -> None:
    """Until Stripe's webhook makes it a Kassa refund, the dashboard refund is Stripe's alone."""
    card = Tender.objects.get(payment__public_id=day.web_sale["id"], method="card")
    stripe.v1.refunds.create(
        params={"payment_intent": card.stripe_payment_intent_id, "amount": 500}
    )
    (web,) = settlement_compute(
        merchant=day.shop.merchant, store=None, business_day=day.business_day
    )
    differences = {d["code"]: d for d in web.differences}
    assert differences["card_variance"]["amount"] == "-5.00"  # Stripe booked 5.00 more back
    assert "card_unmatched" in differences
    assert differences["card_unmatched"]["detail"] == "0 Kassa, 1 Stripe"
    assert web.card_gross.amount == Decimal("10.00")  # 35.00 - 20.00 - 5.00, as Stripe has it


def test_a_dashboard_refund_recorded_from_the_webhook_stays_a_difference(
    day: Day, stripe, django_capture_on_commit_callbacks
) -> None:
    from tests.payments.test_external_refunds import charge_refunded, delivered

    card = Tender.objects.get(payment__public_id=day.web_sale["id"], method="card")
    stripe.v1.refunds.create(
        params={"payment_intent": card.stripe_payment_intent_id, "amount": 500}
    )
    card.refresh_from_db()
    delivered(charge_refunded(stripe, card), django_capture_on_commit_callbacks)
    (web,) = settlement_compute(
        merchant=day.shop.merchant, store=None, business_day=day.business_day
    )
    differences = {d["code"]: d for d in web.differences}
    assert web.card_gross == web.lines.get(method="card").net  # Kassa has it now: 35 - 25
    assert not {"card_variance", "card_unmatched"} & differences.keys()
    assert differences["external_refund"] == {
        "code": "external_refund",
        "amount": "5.00",
        "detail": "1 made at Stripe",
    }


def test_stripe_out_of_reach_leaves_the_card_figures_unmatched_as_a_difference(
    day: Day, settings, localstripe
) -> None:
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    (web,) = settlement_compute(
        merchant=day.shop.merchant, store=None, business_day=day.business_day
    )
    settings.STRIPE_API_BASE = localstripe.api_base
    assert web.card_gross is None
    assert web.lines.get(method="card").net.amount == Decimal("15.00")
    assert {"code": "card_not_matched", "amount": "", "detail": "card_processor_unavailable"} in (
        web.differences
    )


def test_the_nightly_compute_lists_stripe_once_per_day_window(day: Day, monkeypatch) -> None:
    """Two stores and the web shop on one zone's day: one listing of Stripe, not three."""
    StoreFactory.create(merchant=day.shop.merchant, timezone="UTC")
    calls: list[tuple[datetime, datetime]] = []
    real = stripe_reconcile._listed

    def listed(operation: Any, params: dict[str, Any], **window: Any) -> Any:
        if "payout" not in params:
            calls.append((window["since"], window["until"]))
        return real(operation, params, **window)

    monkeypatch.setattr(stripe_reconcile, "_listed", listed)
    assert settlements_compute_day(merchant=day.shop.merchant, business_day=day.business_day)
    start, end = day_window(zone="UTC", business_day=day.business_day)
    assert calls.count((start, end)) == 1  # the day's balance transactions
    web = Settlement.objects.get(merchant=day.shop.merchant, store=None)
    assert web.card_gross == web.lines.get(method="card").net  # and the figures still match
