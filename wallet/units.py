"""Units a ledger transfer can be in: an ISO 4217 currency, or one programme's loyalty points.

Points are whole numbers. A loyalty programme exists once per merchant and currency, so its
points unit is named after that currency (`PTS_EUR`): points of two programmes never mix.
"""

from decimal import Decimal

from config.money import currency_exponent

POINTS_PREFIX = "PTS_"
UNIT_MAX_LENGTH = 8


def points_unit(currency: str) -> str:
    return f"{POINTS_PREFIX}{currency}"


def is_points_unit(unit: str) -> bool:
    return unit.startswith(POINTS_PREFIX)


def unit_exponent(unit: str) -> int:
    """Decimals an amount in `unit` may carry: 0 for points, the minor unit for a currency."""
    return 0 if is_points_unit(unit) else currency_exponent(unit)


def is_exact_in_unit(amount: Decimal, unit: str) -> bool:
    return amount == amount.quantize(Decimal(1).scaleb(-unit_exponent(unit)))
