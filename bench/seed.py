"""The benchmark's data set, made through the same services the API uses.

One merchant with one store; per client a till with its own terminal key, so that scenario 1
("each client its own customer") has no two clients on one row; `customers` customers, each
with a gift card, loyalty points, a personal voucher and a saved card at localstripe, dealt
out to the clients round-robin; one "hot" customer whose single gift card every till may
charge (scenario 3); and per client a pair of R2 reference accounts.

Balances are sized so that no run of this benchmark drains them: an `insufficient_funds`
would be a finding, not noise.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from moneyed import Money
from stripe import StripeClient

from bench.reference.models import RefAccount
from config.actors import system_actor
from config.stripe import stripe_client
from customers.models import Customer, Strength
from customers.services import customer_access_grant
from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue
from wallet.models import LoyaltyProgramme
from wallet.services import (
    bank_card_attach,
    gift_card_issue,
    loyalty_account_open,
    loyalty_points_adjust,
    loyalty_programme_create,
    voucher_issue,
)

CURRENCY = "EUR"
BENCH_ACTOR = system_actor("bench")
GIFT_CARD_VALUE = Decimal("10000.00")
HOT_GIFT_CARD_VALUE = Decimal("1000000.00")
GIFT_CARD_PIN = "4321"
POINTS = 1_000_000
VOUCHER_VALUE = Decimal("5.00")
REFERENCE_BALANCE = Decimal("1000000000.00")


@dataclass(frozen=True)
class Wallet:
    """One customer's instruments, by the ids and codes a till or shop would send."""

    customer: str
    gift_card: str
    gift_card_code: str
    bank_card: str
    voucher_code: str


@dataclass(frozen=True)
class Client:
    """What one simulated client uses: its till key, its own customers, its R2 accounts."""

    till_key: str
    wallets: list[Wallet]
    reference_accounts: tuple[int, int]


@dataclass(frozen=True)
class Fixture:
    web_key: str
    hot: Wallet
    clients: list[Client] = field(default_factory=list)


def _wallet(customer: Customer, programme: LoyaltyProgramme, stripe: StripeClient) -> Wallet:
    card = gift_card_issue(
        merchant=customer.merchant,
        initial_value=Money(GIFT_CARD_VALUE, CURRENCY),
        pin=GIFT_CARD_PIN,
        customer=customer,
        actor=BENCH_ACTOR,
    )
    assert card.code is not None
    loyalty = loyalty_account_open(programme=programme, customer=customer)
    loyalty_points_adjust(account=loyalty, points=POINTS, reason="bench", actor=BENCH_ACTOR)
    voucher = voucher_issue(
        merchant=customer.merchant,
        currency=CURRENCY,
        amount=Money(VOUCHER_VALUE, CURRENCY),
        channels=["web", "pos"],
        valid_until=timezone.now() + timedelta(days=1),
        max_uses_total=None,
        customer=customer,
    )
    assert voucher.code is not None
    method = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    bank_card = bank_card_attach(customer=customer, payment_method_id=method.id)
    return Wallet(
        customer=str(customer.public_id),
        gift_card=str(card.gift_card.public_id),
        gift_card_code=card.code,
        bank_card=str(bank_card.public_id),
        voucher_code=voucher.code,
    )


def seed(*, clients: int, customers: int) -> Fixture:
    """A fresh merchant (so a re-run on the same database never collides) and its data."""
    tag = uuid.uuid4().hex[:8]
    merchant = Merchant.objects.create(name=f"Bench Retail {tag}")
    store = Store.objects.create(merchant=merchant, code="BENCH", name="Bench store")
    programme = loyalty_programme_create(
        merchant=merchant,
        name="Bench Points",
        currency=CURRENCY,
        earn_rate=Decimal("1"),
        point_value=Decimal("0.01"),
        points_validity_days=365,
    )
    _, web_key = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="web shop")
    stripe = stripe_client()
    people = [
        Customer.objects.create(merchant=merchant, first_name="Bench", last_name=f"Customer {n}")
        for n in range(max(customers, clients))
    ]
    wallets = [_wallet(person, programme, stripe) for person in people]
    hot_customer = Customer.objects.create(merchant=merchant, first_name="Hot", last_name="Card")
    hot_card = gift_card_issue(
        merchant=merchant,
        initial_value=Money(HOT_GIFT_CARD_VALUE, CURRENCY),
        customer=hot_customer,
        actor=BENCH_ACTOR,
    )
    assert hot_card.code is not None
    hot = Wallet(
        customer=str(hot_customer.public_id),
        gift_card=str(hot_card.gift_card.public_id),
        gift_card_code=hot_card.code,
        bank_card="",
        voucher_code="",
    )
    fixture = Fixture(web_key=web_key, hot=hot)
    for index in range(clients):
        till = Terminal.objects.create(store=store, code=f"T{index + 1}", name=f"Till {index + 1}")
        till_key, raw_till_key = api_key_issue(
            merchant=merchant, scope=ApiKey.Scope.TERMINAL, name=till.name, terminal=till
        )
        own = wallets[index::clients]
        for person in [*people[index::clients], hot_customer]:
            customer_access_grant(api_key=till_key, customer=person, strength=Strength.WALLET)
        debit = RefAccount.objects.create(balance=REFERENCE_BALANCE)
        credit = RefAccount.objects.create(balance=Decimal(0))
        fixture.clients.append(
            Client(till_key=raw_till_key, wallets=own, reference_accounts=(debit.pk, credit.pk))
        )
    return fixture
