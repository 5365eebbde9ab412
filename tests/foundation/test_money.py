from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money
from rest_framework import serializers

from config.api.fields import MoneyField
from config.money import (
    InvalidAmount,
    currency_exponent,
    from_minor_units,
    money,
    round_money,
    to_minor_units,
)


@pytest.mark.parametrize(("currency", "exponent"), [("EUR", 2), ("JPY", 0), ("BHD", 3)])
def test_currency_exponent(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("value", "units"),
    [(Money("12.50", "EUR"), 1250), (Money("500", "JPY"), 500), (Money("1.005", "BHD"), 1005)],
)
def test_minor_units_round_trip(value: Money, units: int) -> None:
    assert to_minor_units(value) == units
    assert from_minor_units(units, value.currency.code) == value


def test_to_minor_units_refuses_to_round() -> None:
    with pytest.raises(InvalidAmount):
        to_minor_units(Money("0.005", "EUR"))
    with pytest.raises(InvalidAmount):
        money("1.5", "JPY")


def test_rounding_is_explicit() -> None:
    assert round_money(Decimal("0.125"), "EUR", rounding=ROUND_HALF_UP) == Money("0.13", "EUR")
    assert round_money(Decimal("0.129"), "EUR", rounding=ROUND_DOWN) == Money("0.12", "EUR")


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["EUR", "JPY", "BHD"]))
def test_minor_units_round_trip_property(units: int, currency: str) -> None:
    assert to_minor_units(from_minor_units(units, currency)) == units


class _Amount(serializers.Serializer):
    amount = MoneyField()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"amount": "12.5", "currency": "EUR"}, None),
        ({"amount": "12.505", "currency": "EUR"}, "amount_too_precise"),
        ({"amount": "10.5", "currency": "JPY"}, "amount_too_precise"),
        ({"amount": "0", "currency": "EUR"}, "amount_not_positive"),
        ({"amount": "-1", "currency": "EUR"}, "amount_negative"),
        ({"amount": 12.5, "currency": "EUR"}, "invalid_amount"),
        ({"amount": "NaN", "currency": "EUR"}, "invalid_amount"),
        ({"amount": "abc", "currency": "EUR"}, "invalid_amount"),
        ({"amount": "1", "currency": "XXX"}, "unsupported_currency"),
        ({"amount": "1"}, "invalid"),
        ("12.50 EUR", "invalid"),
    ],
)
def test_money_field_validation(payload: object, code: str | None) -> None:
    serializer = _Amount(data={"amount": payload})
    assert serializer.is_valid() is (code is None)
    if code:
        assert serializer.errors["amount"][0].code == code
    else:
        assert serializer.validated_data["amount"] == Money("12.50", "EUR")
        assert _Amount({"amount": Money("12.5", "EUR")}).data["amount"] == {
            "amount": "12.50",
            "currency": "EUR",
        }
