"""A shop with one customer whose wallet holds every instrument, and the invariants checker."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from moneyed import Money
from rest_framework.test import APIClient

from customers.models import Customer, Strength
from customers.services import customer_access_grant
from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue
from tests.factories import CustomerFactory, StoreFactory, TerminalFactory
from tests.payments.checks import assert_invariants
from tests.wallet.factories import LoyaltyProgrammeFactory, issue_card, issue_voucher
from wallet.models import BankCard, GiftCard, LoyaltyAccount
from wallet.services import bank_card_attach, loyalty_account_open, loyalty_points_adjust


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


@dataclass
class Shop:
    merchant: Merchant
    store: Store
    till: Terminal
    customer: Customer
    gift_card: GiftCard
    gift_card_code: str
    loyalty: LoyaltyAccount
    bank_card: BankCard
    voucher_code: str
    web: APIClient
    till_api: APIClient
    web_key: ApiKey
    till_key: ApiKey


def _client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def saved_card(stripe, customer: Customer, number: str = "4242424242424242") -> BankCard:
    payment_method = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    return bank_card_attach(customer=customer, payment_method_id=payment_method.id)


@pytest.fixture
def shop(merchant: Merchant, stripe) -> Shop:
    store = StoreFactory.create(merchant=merchant, code="AMS")
    till = TerminalFactory.create(store=store, code="T1")
    customer = CustomerFactory.create(merchant=merchant)
    card = issue_card(merchant, "50.00", customer=customer, pin="4321")
    programme = LoyaltyProgrammeFactory.create(merchant=merchant)
    loyalty = loyalty_account_open(programme=programme, customer=customer)
    loyalty_points_adjust(account=loyalty, points=2000, reason="welcome bonus", actor="system:test")
    voucher = issue_voucher(merchant, amount=eur("10.00"), max_uses_total=100)
    web_key, web_raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="web")
    till_key, till_raw = api_key_issue(
        merchant=merchant, scope=ApiKey.Scope.TERMINAL, name="till", terminal=till
    )
    # The till scanned the customer's card: strong enough to pay from their wallet.
    customer_access_grant(api_key=till_key, customer=customer, strength=Strength.WALLET)
    assert voucher.code is not None
    return Shop(
        merchant=merchant,
        store=store,
        till=till,
        customer=customer,
        gift_card=card.gift_card,
        gift_card_code=card.code,
        loyalty=loyalty,
        bank_card=saved_card(stripe, customer),
        voucher_code=voucher.code,
        web=_client(web_raw),
        till_api=_client(till_raw),
        web_key=web_key,
        till_key=till_key,
    )


@pytest.fixture
def invariants(stripe) -> Callable[[], None]:
    return lambda: assert_invariants(stripe)


def available(account_holder: GiftCard | LoyaltyAccount) -> Decimal:
    account_holder.account.refresh_from_db()
    return account_holder.account.available


def till_sale(shop: Shop) -> dict[str, object]:
    """The bench's S1 for the shop's customer: 5.00 from the gift card, 200 points, the rest
    (5.50) in cash, captured at once."""
    return {
        "amount": money("12.50"),
        "customer": str(shop.customer.public_id),
        "tenders": [
            {
                "method": "gift_card",
                "gift_card": str(shop.gift_card.public_id),
                "amount": money("5.00"),
            },
            {"method": "loyalty_points", "points": 200},
            {"method": "cash"},
        ],
        "capture": True,
    }
