"""Serializer fields shared by every API.

Money travels as `{"amount": "12.50", "currency": "EUR"}`: a plain ASCII decimal string, never
a float, an exponent or a digit group. Every number a client sends has a ceiling
(config.limits) that the database columns can hold.
"""

import re
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from moneyed import Money
from rest_framework import serializers

from config import limits
from config.api.errors import ErrorCode
from config.errors import error_code_register
from config.money import is_exact, money_json, quantum, round_money

# Up to 15 digits either side: enough to say "too large" or "too precise" about any sane
# mistake, few enough that a 1,000-digit string is refused before Decimal sees it.
AMOUNT_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"
AMOUNT_MAX_LENGTH = 32
_AMOUNT = re.compile(AMOUNT_PATTERN, re.ASCII)

MONEY_SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {
            "type": "string",
            "format": "decimal",
            "pattern": AMOUNT_PATTERN,
            "maxLength": AMOUNT_MAX_LENGTH,
            "example": "12.50",
        },
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
        "amount_too_large": "Amount must not exceed {maximum} {currency}.",
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
        if not isinstance(raw_amount, str) or not _AMOUNT.fullmatch(raw_amount):
            self.fail("invalid_amount")
        amount = Decimal(raw_amount)
        if not is_exact(amount, currency):
            places = -quantum(currency).as_tuple().exponent  # type: ignore[operator]
            self.fail("amount_too_precise", currency=currency, places=places)
        if amount < 0:
            self.fail("amount_negative")
        if amount > limits.MAX_AMOUNT:
            maximum = money_json(round_money(limits.MAX_AMOUNT, currency, rounding=ROUND_DOWN))
            message = self.error_messages["amount_too_large"].format(
                maximum=maximum["amount"], currency=currency
            )
            raise serializers.ValidationError(
                message, code=ErrorCode("amount_too_large", maximum=maximum)
            )
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


class _BoundedIntegerField(serializers.IntegerField):
    """A JSON integer within ±`maximum`; above it, a `too_large_code` error naming the maximum."""

    too_large_code: str
    maximum: int

    def __init__(self, *, min_value: int = 1, **kwargs: Any) -> None:
        super().__init__(min_value=min_value, max_value=self.maximum, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if abs(data) > self.maximum:
            code = ErrorCode(self.too_large_code, maximum=self.maximum)
            raise serializers.ValidationError(f"At most {self.maximum}.", code=code)
        return data


class QuantityField(_BoundedIntegerField):
    """A basket line's quantity: 1 to MAX_QUANTITY."""

    too_large_code = "quantity_too_large"
    maximum = limits.MAX_QUANTITY


class PointsField(_BoundedIntegerField):
    """Loyalty points in one request: 1 to MAX_POINTS (pass `min_value=-MAX_POINTS` for signed)."""

    too_large_code = "points_too_large"
    maximum = limits.MAX_POINTS


# The codes these fields answer (all 400), for the error-code catalogue.
for _code in (
    *(code for code in MoneyField.default_error_messages if code != "invalid"),
    QuantityField.too_large_code,
    PointsField.too_large_code,
):
    error_code_register(_code, 400)
