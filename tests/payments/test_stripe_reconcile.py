"""Stripe's balance transactions on localstripe matched to card payments made through the API."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from merchants.models import ApiKey
from merchants.services import api_key_issue
from payments import stripe_reconcile
from payments.errors import StripeListingTooLarge
from payments.models import Payment, Refund, Tender
from payments.stripe_reconcile import StripeMatch, stripe_balance_match
from tests.factories import CustomerFactory, MerchantFactory
from tests.payments.conftest import _client, eur, money, saved_card

pytestmark = pytest.mark.django_db


def post(client, path: str, body: dict):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def card_payment(client, customer, bank_card, amount: str, *, gift_card=None) -> Payment:
    tenders = [{"method": "card", "bank_card": str(bank_card.public_id)}]
    if gift_card is not None:
        tenders.insert(0, {"method": "gift_card", "gift_card": str(gift_card.public_id)})
    response = post(
        client,
        "/api/v1/payments",
        {
            "amount": money(amount),
            "customer": str(customer.public_id),
            "tenders": tenders,
            "capture": True,
        },
    )
    assert response.status_code == 201, response.json()
    return Payment.objects.get(public_id=response.json()["id"])


def card_of(payment: Payment) -> Tender:
    return payment.tenders.get(method=Tender.Method.CARD)


def window_start() -> datetime:
    """The next whole second: Stripe's `created` has no finer grain."""
    time.sleep(1 - time.time() % 1)
    return datetime.fromtimestamp(int(time.time()), tz=UTC)


def test_card_charges_and_refunds_match_and_differences_show_on_both_sides(
    shop, stripe, monkeypatch, django_assert_max_num_queries
) -> None:
    monkeypatch.setattr(stripe_reconcile, "PAGE_SIZE", 2)  # several pages of auto-pagination
    earlier = card_payment(shop.web, shop.customer, shop.bank_card, "12.00")
    since = window_start()
    split = card_payment(shop.web, shop.customer, shop.bank_card, "80.00", gift_card=shop.gift_card)
    card_only = card_payment(shop.web, shop.customer, shop.bank_card, "25.50")
    refunded = post(
        shop.web, f"/api/v1/payments/{card_only.public_id}/refunds", {"amount": money("5.50")}
    )
    assert refunded.status_code == 201, refunded.json()
    refund = Refund.objects.get(public_id=refunded.json()["id"])

    # Made at Stripe, not through Kassa: a charge naming this merchant (as Kassa's own
    # PaymentIntents do), and a refund of a Kassa charge.
    def charge_at_stripe(amount: int, metadata: dict[str, str]) -> Any:
        return stripe.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": "eur",
                "payment_method": shop.bank_card.payment_method_id,
                "confirm": True,
                "metadata": metadata,
            }
        )

    direct = charge_at_stripe(1234, {"kassa_merchant": str(shop.merchant.pk)})
    # Nobody's (a dashboard charge) and another merchant's, on the shared account: listed in
    # no merchant's report, only counted.
    charge_at_stripe(777, {})
    charge_at_stripe(888, {"kassa_merchant": str(shop.merchant.pk + 1000)})
    dashboard_refund = stripe.v1.refunds.create(
        params={"payment_intent": card_of(split).stripe_payment_intent_id, "amount": 300}
    )
    # Another merchant's card payment on the same Stripe account is neither side's concern.
    other = MerchantFactory.create()
    other_customer = CustomerFactory.create(merchant=other)
    _, other_raw = api_key_issue(merchant=other, scope=ApiKey.Scope.MERCHANT, name="web")
    card_payment(_client(other_raw), other_customer, saved_card(stripe, other_customer), "9.00")
    # Kassa says this one was captured in the window; Stripe booked it before.
    Payment.objects.filter(pk=earlier.pk).update(captured_at=since + timedelta(milliseconds=1))
    until = datetime.now(tz=UTC) + timedelta(seconds=1)

    with django_assert_max_num_queries(5):  # however many transactions: one query per lookup
        report = stripe_balance_match(merchant=shop.merchant, since=since, until=until)

    split_card, only_card = card_of(split), card_of(card_only)
    assert split_card.stripe_charge_id.startswith("ch_")
    by_tender = {(m.kind, m.tender_id, m.refund_id): m for m in report.matched}
    assert set(by_tender) == {
        ("charge", split_card.pk, None),
        ("charge", only_card.pk, None),
        ("refund", only_card.pk, refund.pk),
    }
    charge = by_tender[("charge", split_card.pk, None)]
    assert isinstance(charge, StripeMatch)
    assert (charge.gross, charge.fee, charge.net) == (eur("30.00"), eur("0.00"), eur("30.00"))
    assert charge.balance_transaction_id.startswith("txn_")
    assert charge.payout_id is None  # localstripe ties no transaction to a payout
    assert by_tender[("charge", only_card.pk, None)].gross == eur("25.50")
    assert by_tender[("refund", only_card.pk, refund.pk)].net == eur("-5.50")

    unmatched = {u["source_id"]: u for u in report.unmatched_stripe}
    direct_charge = direct.latest_charge
    direct_charge_id = direct_charge if isinstance(direct_charge, str) else direct_charge.id
    assert set(unmatched) == {direct_charge_id, dashboard_refund.id}
    assert unmatched[direct_charge_id]["kind"] == "charge"
    assert unmatched[direct_charge_id]["tender_id"] is None
    assert unmatched[direct_charge_id]["gross"] == eur("12.34")
    assert unmatched[dashboard_refund.id]["kind"] == "refund"
    assert unmatched[dashboard_refund.id]["tender_id"] == split_card.pk
    assert unmatched[dashboard_refund.id]["net"] == eur("-3.00")

    assert report.unmatched_kassa == [card_of(earlier).pk]
    assert report.unattributed == 2


def test_kassa_names_the_merchant_on_its_payment_intents(shop, stripe) -> None:
    card = card_of(card_payment(shop.web, shop.customer, shop.bank_card, "4.00"))
    intent = stripe.v1.payment_intents.retrieve(card.stripe_payment_intent_id)
    assert intent.metadata["kassa_merchant"] == str(shop.merchant.pk)


def test_the_listing_is_bounded_and_refused_past_the_bound(shop, monkeypatch) -> None:
    since = window_start()
    for amount in ("1.00", "2.00", "3.00"):
        card_payment(shop.web, shop.customer, shop.bank_card, amount)
    monkeypatch.setattr(stripe_reconcile, "PAGE_SIZE", 1)
    monkeypatch.setattr(stripe_reconcile, "MAX_BALANCE_TRANSACTIONS", 2)
    with pytest.raises(StripeListingTooLarge):
        stripe_balance_match(
            merchant=shop.merchant, since=since, until=datetime.now(tz=UTC) + timedelta(seconds=1)
        )
