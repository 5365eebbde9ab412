from decimal import Decimal

from django.conf import settings
from moneyed import Money

from customers.errors import CustomerNotFound
from customers.models import Customer
from wallet.errors import CurrencyMismatch, UnsupportedCurrency
from wallet.ledger import check_amount


def money_amount(value: Money, *, currency: str, field: str = "amount") -> Decimal:
    """The Decimal of `value` once it is positive, exact and in the instrument's `currency`."""
    given = value.currency.code
    if given != currency:
        raise CurrencyMismatch(
            f"This instrument is in {currency}, not {given}.",
            field=field,
            meta={"expected": currency, "given": given},
        )
    return check_amount(value.amount, currency, field=field)


def check_currency(currency: str, *, field: str = "currency") -> str:
    if currency not in settings.CURRENCIES:
        raise UnsupportedCurrency(f"Currency {currency} is not accepted here.", field=field)
    return currency


def check_customer_of(customer: Customer | None, merchant_id: int) -> None:
    """Another merchant's customer is not found (404), as everywhere else it is looked up."""
    if customer is not None and customer.merchant_id != merchant_id:
        raise CustomerNotFound(field="customer")
