"""Money rules shared by every app.

Amounts are `moneyed.Money` holding `Decimal`s, never floats. An amount is valid for a currency
when it has no more decimals than the currency's minor unit (2 for EUR, 0 for JPY, 3 for BHD).
Integer minor units exist only at the Stripe boundary (`to_minor_units` / `from_minor_units`).
Rounding is always explicit: callers name the mode (`ROUND_HALF_UP` for prices, `ROUND_DOWN`
where rounding must never favour the customer's balance over the ledger).
"""

from decimal import ROUND_HALF_UP, Decimal

from moneyed import Money, get_currency


class InvalidAmount(ValueError):
    """An amount that cannot be represented exactly in its currency."""


def currency_exponent(currency: str) -> int:
    """Number of decimals in the currency's minor unit."""
    sub_unit = int(get_currency(currency).sub_unit)
    return len(str(sub_unit)) - 1


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def is_exact(amount: Decimal, currency: str) -> bool:
    """True when `amount` needs no rounding to be expressed in the currency's minor unit."""
    return amount == amount.quantize(quantum(currency))


def money(amount: Decimal | int | str, currency: str) -> Money:
    """A Money whose amount is exactly representable in `currency` (else `InvalidAmount`)."""
    value = Decimal(amount)
    if not value.is_finite() or not is_exact(value, currency):
        raise InvalidAmount(f"{amount} has more decimals than {currency} allows")
    return Money(value.quantize(quantum(currency)), currency)


def round_money(amount: Decimal, currency: str, *, rounding: str = ROUND_HALF_UP) -> Money:
    return Money(amount.quantize(quantum(currency), rounding=rounding), currency)


def to_minor_units(value: Money) -> int:
    """Integer minor units for Stripe; refuses amounts that would need rounding."""
    code = value.currency.code
    if not is_exact(value.amount, code):
        raise InvalidAmount(f"{value} has more decimals than {code} allows")
    return int(value.amount.scaleb(currency_exponent(code)))


def from_minor_units(units: int, currency: str) -> Money:
    return Money(
        Decimal(units).scaleb(-currency_exponent(currency)).quantize(quantum(currency)), currency
    )


def money_json(value: Money) -> dict[str, str]:
    """The API's representation of money: a decimal string at the currency's precision."""
    code = value.currency.code
    return {"amount": str(value.amount.quantize(quantum(code))), "currency": code}
