"""The planner alone: ordering, open amounts, sums and every refusal, with no database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from config.money import from_minor_units
from payments.errors import PaymentRejected
from payments.planning import Source, plan_tenders


def eur(value: str) -> Money:
    return Money(value, "EUR")


def _codes(error: PaymentRejected) -> dict[str | None, str]:
    return {item.field: item.code for item in (error.errors or [error])}


def test_orders_voucher_then_stored_value_then_card() -> None:
    sources = [
        Source(index=0, method="card", currency="EUR"),
        Source(index=1, method="gift_card", currency="EUR", cap=eur("30")),
        Source(index=2, method="voucher", currency="EUR", cap=eur("10")),
        Source(index=3, method="loyalty_points", currency="EUR", cap=eur("5")),
    ]
    plan = plan_tenders(amount=eur("100"), channel="web", sources=sources)
    assert [(p.source.method, p.amount) for p in plan] == [
        ("voucher", eur("10")),
        ("gift_card", eur("30")),
        ("loyalty_points", eur("5")),
        ("card", eur("55")),
    ]


def test_stored_value_covers_only_what_is_left() -> None:
    sources = [
        Source(index=0, method="gift_card", currency="EUR", cap=eur("80")),
        Source(index=1, method="gift_card", currency="EUR", cap=eur("80")),
    ]
    plan = plan_tenders(amount=eur("100"), channel="pos", sources=sources)
    assert [p.amount for p in plan] == [eur("80"), eur("20")]


def test_explicit_amount_above_balance_is_insufficient_funds_with_available() -> None:
    sources = [
        Source(index=0, method="gift_card", currency="EUR", requested=eur("50"), cap=eur("20")),
        Source(index=1, method="cash", currency="EUR"),
    ]
    with pytest.raises(PaymentRejected) as raised:
        plan_tenders(amount=eur("60"), channel="pos", sources=sources)
    (error,) = raised.value.errors
    assert (error.code, error.field) == ("insufficient_funds", "tenders[0]")
    assert error.meta == {"available": {"amount": "20.00", "currency": "EUR"}}


def test_sum_mismatch_reports_the_difference() -> None:
    sources = [Source(index=0, method="card", currency="EUR", requested=eur("40"))]
    with pytest.raises(PaymentRejected) as raised:
        plan_tenders(amount=eur("50"), channel="web", sources=sources)
    assert raised.value.code == "tender_sum_mismatch"
    assert raised.value.meta == {"difference": {"amount": "10.00", "currency": "EUR"}}


def test_overpaying_is_a_sum_mismatch_too() -> None:
    sources = [
        Source(index=0, method="cash", currency="EUR", requested=eur("40")),
        Source(index=1, method="cash", currency="EUR", requested=eur("20")),
    ]
    with pytest.raises(PaymentRejected) as raised:
        plan_tenders(amount=eur("50"), channel="pos", sources=sources)
    assert raised.value.meta == {"difference": {"amount": "-10.00", "currency": "EUR"}}


def test_every_problem_is_reported_at_once() -> None:
    sources = [
        Source(index=0, method="cash", currency="EUR"),
        Source(index=1, method="external_card", currency="EUR", requested=eur("5")),
        Source(index=2, method="gift_card", currency="USD", cap=eur("5")),
        Source(index=3, method="card", currency="EUR"),
    ]
    with pytest.raises(PaymentRejected) as raised:
        plan_tenders(amount=eur("50"), channel="web", sources=sources)
    assert _codes(raised.value) == {
        "tenders[0]": "method_not_allowed_on_channel",
        "tenders[1]": "method_not_allowed_on_channel",
        "tenders[2]": "currency_mismatch",
        "tenders[3]": "ambiguous_remainder",
    }


def test_a_tender_with_nothing_left_to_pay_is_refused() -> None:
    sources = [
        Source(index=0, method="gift_card", currency="EUR", cap=eur("100")),
        Source(index=1, method="card", currency="EUR"),
    ]
    with pytest.raises(PaymentRejected) as raised:
        plan_tenders(amount=eur("50"), channel="web", sources=sources)
    assert _codes(raised.value) == {"tenders[1]": "tender_not_needed"}


def test_an_empty_balance_is_insufficient_funds() -> None:
    sources = [
        Source(index=0, method="gift_card", currency="EUR", cap=eur("0")),
        Source(index=1, method="card", currency="EUR"),
    ]
    with pytest.raises(PaymentRejected) as raised:
        plan_tenders(amount=eur("50"), channel="web", sources=sources)
    assert _codes(raised.value) == {"tenders[0]": "insufficient_funds"}
    assert (raised.value.status, raised.value.meta) == (
        402,
        {"available": {"amount": "0.00", "currency": "EUR"}},
    )


@given(
    total_cents=st.integers(min_value=1, max_value=10**7),
    caps=st.lists(st.integers(min_value=0, max_value=10**6), max_size=4),
)
def test_plans_always_sum_to_the_amount_and_respect_caps(total_cents: int, caps: list[int]) -> None:
    amount = from_minor_units(total_cents, "EUR")
    sources = [
        Source(index=i, method="gift_card", currency="EUR", cap=from_minor_units(cap, "EUR"))
        for i, cap in enumerate(caps)
    ]
    sources.append(Source(index=len(caps), method="card", currency="EUR"))
    refusals: set[str] = set()
    try:
        plan = plan_tenders(amount=amount, channel="web", sources=sources)
    except PaymentRejected as rejected:
        refusals = {e.code for e in rejected.errors}
    else:
        assert sum((p.amount for p in plan), Money(0, "EUR")) == amount
        assert all(p.source.cap is None or p.amount <= p.source.cap for p in plan)
        assert all(p.amount > Money(0, "EUR") for p in plan)
    # The only refusals possible here: an empty instrument, or an instrument (or the card)
    # with nothing left to pay.
    assert refusals <= {"insufficient_funds", "tender_not_needed"}
