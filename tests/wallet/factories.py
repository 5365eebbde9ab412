"""Wallet test data. Instruments are made through the services (a gift card without its
ledger account and issue transfer would not be a gift card)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import factory
from moneyed import Money

from config.actors import system_actor
from customers.models import Customer
from merchants.models import Merchant
from tests.factories import MerchantFactory
from wallet.models import GiftCard, LoyaltyAccount, LoyaltyProgramme
from wallet.services import (
    IssuedVoucher,
    gift_card_issue,
    loyalty_account_open,
    voucher_issue,
)

ACTOR = system_actor("test")


class LoyaltyProgrammeFactory(factory.django.DjangoModelFactory[LoyaltyProgramme]):
    class Meta:
        model = LoyaltyProgramme

    merchant = factory.SubFactory(MerchantFactory)
    name = "Kassa Points"
    currency = "EUR"
    earn_rate = Decimal("1")  # 1 point per euro
    point_value = Decimal("0.01")  # 100 points = 1 euro
    points_validity_days = 365


@dataclass(frozen=True)
class NewCard:
    gift_card: GiftCard
    code: str


def issue_card(
    merchant: Merchant,
    amount: str = "50.00",
    currency: str = "EUR",
    *,
    pin: str | None = None,
    customer: Customer | None = None,
    expires_at: datetime | None = None,
    active: bool = True,
) -> NewCard:
    issued = gift_card_issue(
        merchant=merchant,
        initial_value=Money(Decimal(amount), currency),
        pin=pin,
        customer=customer,
        expires_at=expires_at,
        active=active,
        actor=ACTOR,
    )
    assert issued.code is not None
    return NewCard(gift_card=issued.gift_card, code=issued.code)


def issue_voucher(merchant: Merchant, **overrides: object) -> IssuedVoucher:
    params: dict = {"currency": "EUR", "amount": Money(Decimal("5.00"), "EUR")}
    params.update(overrides)
    return voucher_issue(merchant=merchant, **params)


def open_loyalty(customer: Customer, programme: LoyaltyProgramme | None = None) -> LoyaltyAccount:
    programme = programme or LoyaltyProgrammeFactory.create(merchant=customer.merchant)
    return loyalty_account_open(programme=programme, customer=customer)
