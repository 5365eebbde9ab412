"""Captured payments' basket lines become products and (with a customer) purchases; refunds
take their share off those purchases."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from djmoney.money import Money

from customers.models import Customer
from insights.models import Product, Profile, Purchase, Recommendation
from insights.services import catalogue, offers_train, products_sync, refunds_sync
from insights.tasks import products_sync_task
from merchants.models import ApiKey, Merchant
from merchants.services import api_key_issue
from payments.models import Payment, Refund


def payment(merchant: Merchant, customer: Customer | None, captured: bool, key: str) -> Payment:
    api_key, _ = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name=key)
    now = timezone.now()
    return Payment.objects.create(
        merchant=merchant,
        api_key=api_key,
        idempotency_key=key,
        customer=customer,
        channel=Payment.Channel.WEB,
        status=Payment.Status.CAPTURED if captured else Payment.Status.AUTHORIZED,
        amount=Money("5.40", "EUR"),
        captured_amount=Money("5.40" if captured else "0", "EUR"),
        refunded_amount=Money("0", "EUR"),
        captured_at=now - timedelta(seconds=1) if captured else None,
        basket=[
            {
                "sku": "MILK",
                "name": "Milk 1l",
                "quantity": 2,
                "unit_price": {"amount": "1.20", "currency": "EUR"},
            },
            {
                "sku": "BREAD",
                "name": "Bread",
                "quantity": 1,
                "unit_price": {"amount": "3.00", "currency": "EUR"},
            },
        ],
    )


def test_captured_payments_are_read_once_into_products_and_purchases(
    merchant: Merchant, make_customer: Callable[..., Customer]
) -> None:
    ann = make_customer("ann")
    payment(merchant, ann, True, "p1")
    payment(merchant, None, True, "p2")
    payment(merchant, ann, False, "p3")
    assert products_sync_task() == 2
    assert dict(Product.objects.values_list("sku", "last_price")) == {
        "MILK": Money("1.20", "EUR").amount,
        "BREAD": Money("3.00", "EUR").amount,
    }
    assert sorted(
        Purchase.objects.values_list("customer_id", "sku", "quantity", "channel", "currency")
    ) == [
        (ann.pk, "BREAD", 1, "web", "EUR"),
        (ann.pk, "MILK", 2, "web", "EUR"),
    ]
    products_sync_task()  # the overlap re-reads them: nothing twice
    assert Purchase.objects.count() == 2


def refund(paid: Payment, amount: str) -> None:
    """A succeeded refund of `amount`, as the refund service leaves the payment."""
    Refund.objects.create(
        payment=paid,
        amount=Money(amount, "EUR"),
        status=Refund.Status.SUCCEEDED,
        completed_at=timezone.now(),
    )
    paid.refunded_amount += Money(amount, "EUR")
    paid.save(update_fields=["refunded_amount"])


def test_refunds_take_their_share_off_the_lines_that_feed_the_profile_and_models(
    merchant: Merchant, make_customer: Callable[..., Customer]
) -> None:
    ann = make_customer("ann")
    paid = payment(merchant, ann, True, "p1")
    products_sync_task()
    refund(paid, "2.70")  # half of 5.40
    products_sync_task()
    products_sync_task()  # the overlap re-reads the refund: set, not added
    lines = {row.sku: row for row in Purchase.objects.all()}
    assert (lines["MILK"].refunded_amount, lines["MILK"].net_quantity) == (Decimal("1.20"), 1)
    assert (lines["BREAD"].refunded_amount, lines["BREAD"].net_quantity) == (Decimal("1.50"), 1)
    offers_train(merchant=merchant)
    profile = Profile.objects.get(customer=ann)
    assert profile.spend_by_channel == {"web": "2.70"}

    refund(paid, "2.70")  # the rest: the basket leaves the history
    products_sync_task()
    assert [row.net_quantity for row in Purchase.objects.all()] == [0, 0]
    offers_train(merchant=merchant)
    assert not Profile.objects.filter(customer=ann).exists()
    assert not Recommendation.objects.filter(customer=ann).exists()


def test_a_gift_card_sold_in_the_basket_is_not_a_product(
    merchant: Merchant, make_customer: Callable[..., Customer]
) -> None:
    ann = make_customer("ann")
    paid = payment(merchant, ann, True, "gift")
    paid.basket = [
        *paid.basket,
        {
            "kind": "gift_card",
            "sku": "GIFT-CARD",
            "quantity": 1,
            "unit_price": {"amount": "25.00", "currency": "EUR"},
        },
    ]
    paid.save(update_fields=["basket"])
    products_sync_task()
    assert set(Product.objects.values_list("sku", flat=True)) == {"MILK", "BREAD"}
    assert set(Purchase.objects.values_list("sku", flat=True)) == {"MILK", "BREAD"}


def test_a_batch_cut_among_rows_sharing_a_timestamp_reads_the_rest(
    merchant: Merchant, make_customer: Callable[..., Customer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue, "SYNC_BATCH", 2)
    ann = make_customer("ann")
    paid = [payment(merchant, ann, True, f"tie-{number}") for number in range(5)]
    at = paid[0].captured_at
    assert at is not None
    Payment.objects.filter(pk__in=[p.pk for p in paid]).update(captured_at=at)

    assert products_sync() == 5  # batches of 2, 2 and 1, all at the same instant
    assert Purchase.objects.filter(customer=ann).count() == 10
    for one in paid:
        refund(one, "5.40")
    Refund.objects.update(completed_at=at + timedelta(seconds=1))

    assert refunds_sync() == 5
    assert set(Purchase.objects.values_list("refunded_amount", "refunded_quantity")) == {
        (Decimal("2.40"), 2),
        (Decimal("3.00"), 1),
    }
