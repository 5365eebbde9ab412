"""Real threads give a customer instruments while that customer is merged away: whatever
commits first, nothing is left on the tombstone (20 rounds)."""

import pytest

from customers.services import customer_merge
from tests.customers.test_merge_concurrency import race
from tests.factories import CustomerFactory
from tests.wallet.factories import LoyaltyProgrammeFactory, issue_card
from wallet.models import BankCard, GiftCard, LoyaltyAccount, StripeCustomer, Voucher
from wallet.services import bank_card_attach, gift_card_claim, loyalty_account_open

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROUNDS = 20


def _one_round(merchant, stripe, programme) -> None:
    absorbed = CustomerFactory.create(merchant=merchant)
    survivor = CustomerFactory.create(merchant=merchant)
    cards = [issue_card(merchant).gift_card for _ in range(2)]
    method = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    results = race(
        [
            lambda: customer_merge(
                survivor=survivor,
                absorbed=absorbed,
                reason="race",
                source="staff_api",
                actor="system:test",
            ),
            lambda: gift_card_claim(gift_card=cards[0], customer=absorbed),
            lambda: gift_card_claim(gift_card=cards[1], customer=absorbed),
            lambda: loyalty_account_open(programme=programme, customer=absorbed),
            lambda: bank_card_attach(customer=absorbed, payment_method_id=method.id),
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    absorbed.refresh_from_db()
    assert absorbed.merged_into_id == survivor.pk
    for model in (GiftCard, LoyaltyAccount, BankCard, StripeCustomer, Voucher):
        assert not model.objects.filter(customer=absorbed).exists(), model
    assert GiftCard.objects.filter(customer=survivor).count() == 2
    assert LoyaltyAccount.objects.filter(customer=survivor).count() == 1
    assert BankCard.objects.filter(customer=survivor).count() == 1


def test_instruments_given_during_a_merge_end_on_the_survivor(merchant, stripe) -> None:
    programme = LoyaltyProgrammeFactory.create(merchant=merchant)
    for _ in range(ROUNDS):
        _one_round(merchant, stripe, programme)
