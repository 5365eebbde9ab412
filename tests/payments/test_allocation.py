"""Refund allocation policies are pure: tenders and an amount in, shares per tender out."""

from decimal import Decimal

import pytest
from moneyed import Money

from payments.allocation import refund_allocation
from payments.errors import InvalidAllocation, RefundExceedsRefundable
from payments.models import Refund, Tender


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def captured(pk: int, amount: str, refunded: str = "0") -> Tender:
    return Tender(pk=pk, captured_amount=eur(amount), refunded_amount=eur(refunded))


TENDERS = [captured(1, "10.00"), captured(2, "50.00", refunded="20.00"), captured(3, "30.00")]


def test_reverse_gives_back_the_last_tender_first() -> None:
    shares = refund_allocation(
        policy=Refund.Policy.REVERSE, tenders=TENDERS, amount=eur("45.00"), explicit=[]
    )
    assert shares == {3: eur("30.00"), 2: eur("15.00")}


def test_pro_rata_shares_what_each_can_still_refund_to_the_cent() -> None:
    shares = refund_allocation(
        policy=Refund.Policy.PRO_RATA, tenders=TENDERS, amount=eur("10.00"), explicit=[]
    )
    assert sum(shares.values(), eur("0")) == eur("10.00")
    assert shares == {1: eur("1.43"), 2: eur("4.28"), 3: eur("4.29")}


def test_explicit_must_add_up_and_stay_within_each_tender() -> None:
    ids = [str(t.public_id) for t in TENDERS]
    shares = refund_allocation(
        policy=Refund.Policy.EXPLICIT,
        tenders=TENDERS,
        amount=eur("5.00"),
        explicit=[(ids[0], eur("5.00"))],
    )
    assert shares == {1: eur("5.00")}
    with pytest.raises(InvalidAllocation):
        refund_allocation(
            policy=Refund.Policy.EXPLICIT,
            tenders=TENDERS,
            amount=eur("6.00"),
            explicit=[(ids[0], eur("5.00"))],
        )
    with pytest.raises(RefundExceedsRefundable):
        refund_allocation(
            policy=Refund.Policy.EXPLICIT,
            tenders=TENDERS,
            amount=eur("31.00"),
            explicit=[(ids[1], eur("31.00"))],
        )
