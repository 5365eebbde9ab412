"""Serializer fields shared by every API.

Money travels as `{"amount": "12.50", "currency": "EUR"}`: a decimal string, never a float.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from moneyed import Money
from rest_framework import serializers

from config.money import is_exact, money_json, quantum

MONEY_SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "string", "format": "decimal", "example": "12.50"},
        "currency": {"type": "string", "example": "EUR", "minLength": 3, "maxLength": 3},
    },
    "required": ["amount", "currency"],
}


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.Field):
    """A positive (or, with `allow_zero`, non-negative) amount in an accepted currency."""

    default_error_messages = {
        "invalid": 'Expected {{"amount": "<decimal string>", "currency": "<ISO 4217 code>"}}.',
        "invalid_amount": 'Amount must be a decimal string such as "12.50".',
        "unsupported_currency": "Currency {currency} is not accepted here.",
        "amount_too_precise": "{currency} amounts have at most {places} decimals.",
        "amount_not_positive": "Amount must be greater than zero.",
        "amount_negative": "Amount must not be negative.",
    }

    def __init__(self, *, allow_zero: bool = False, **kwargs: Any) -> None:
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Money:
        if not isinstance(data, dict) or set(data) != {"amount", "currency"}:
            self.fail("invalid")
        raw_amount, currency = data["amount"], data["currency"]
        if not isinstance(currency, str) or currency.upper() not in settings.CURRENCIES:
            self.fail("unsupported_currency", currency=currency)
        currency = currency.upper()
        if not isinstance(raw_amount, str):
            self.fail("invalid_amount")
        try:
            amount = Decimal(raw_amount)
        except InvalidOperation:
            self.fail("invalid_amount")
        if not amount.is_finite():
            self.fail("invalid_amount")
        if not is_exact(amount, currency):
            places = -quantum(currency).as_tuple().exponent  # type: ignore[operator]
            self.fail("amount_too_precise", currency=currency, places=places)
        if amount < 0:
            self.fail("amount_negative")
        if amount == 0 and not self.allow_zero:
            self.fail("amount_not_positive")
        return Money(amount.quantize(quantum(currency)), currency)

    def to_representation(self, value: Money) -> dict[str, str]:
        return money_json(value)


@extend_schema_field(OpenApiTypes.STR)
class CurrencyField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=3, max_length=3, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data).upper()
        if code not in settings.CURRENCIES:
            raise serializers.ValidationError(
                f"Currency {code} is not accepted here.", code="unsupported_currency"
            )
        return code
