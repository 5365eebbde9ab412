"""Money and points in the reader's locale (Babel's CLDR data: "12,50 €" in French)."""

from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, format_decimal
from django import template
from django.utils.translation import get_language, to_locale

register = template.Library()


def _locale() -> str:
    return to_locale(get_language() or "en")


@register.filter
def money(value: Any, currency: str | None = None) -> str:
    """A `Money`, or an amount with its currency given as the argument."""
    if hasattr(value, "currency"):
        amount, code = value.amount, str(value.currency)
    else:
        amount, code = Decimal(value), str(currency)
    return format_currency(amount, code, locale=_locale())


@register.filter
def points(value: Any) -> str:
    return format_decimal(int(value), locale=_locale())


@register.filter
def ledger_amount(value: Decimal, unit: str) -> str:
    """A history line's signed amount: money for a currency, whole points for a points unit."""
    if unit.startswith("PTS_"):
        return format_decimal(int(value), locale=_locale(), format="+#,##0;-#,##0")
    text = format_currency(abs(value), unit, locale=_locale())
    return f"+{text}" if value >= 0 else f"\N{MINUS SIGN}{text}"
