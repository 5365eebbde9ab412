"""Bank cards against localstripe through the real stripe SDK."""

import pytest
from django.db import IntegrityError, connection

from config.errors import CardDeclined
from tests.factories import CustomerFactory
from wallet.errors import BankCardAlreadySaved, BankCardRemoved
from wallet.models import BankCard, StripeCustomer
from wallet.selectors import bank_card_default, bank_cards_of
from wallet.services import bank_card_attach, bank_card_remove, bank_card_set_default

pytestmark = pytest.mark.django_db


def _payment_method(stripe, number: str = "4242424242424242") -> str:
    method = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    return method.id


def test_attach_creates_the_stripe_customer_once_and_stores_no_card_number(
    stripe, customer
) -> None:
    first = bank_card_attach(customer=customer, payment_method_id=_payment_method(stripe))
    second = bank_card_attach(
        customer=customer, payment_method_id=_payment_method(stripe, "5555555555554444")
    )
    stripe_customer = StripeCustomer.objects.get(customer=customer)
    assert first.stripe_customer_id == second.stripe_customer_id == stripe_customer.stripe_id
    at_stripe = stripe.v1.payment_methods.retrieve(first.payment_method_id)
    assert at_stripe.customer == stripe_customer.stripe_id
    assert (first.brand, first.last4, first.exp_month, first.exp_year) == ("visa", "4242", 12, 2030)
    assert first.fingerprint == at_stripe.card.fingerprint
    stored = " ".join(str(v) for v in BankCard.objects.filter(pk=first.pk).values().get().values())
    assert "424242424242" not in stored
    assert stripe.v1.customers.retrieve(stripe_customer.stripe_id).metadata[
        "kassa_customer"
    ] == str(customer.public_id)


def test_remove_detaches_at_stripe(stripe, customer) -> None:
    card = bank_card_attach(customer=customer, payment_method_id=_payment_method(stripe))
    removed = bank_card_remove(bank_card=card)
    assert removed.removed_at is not None
    assert stripe.v1.payment_methods.retrieve(card.payment_method_id).customer is None
    assert bank_cards_of(customer=customer) == []
    with pytest.raises(BankCardRemoved):
        bank_card_set_default(bank_card=removed)


def test_a_declined_card_is_not_saved(stripe, customer) -> None:
    with pytest.raises(CardDeclined) as declined:
        bank_card_attach(
            customer=customer, payment_method_id=_payment_method(stripe, "4000000000009995")
        )
    assert declined.value.status == 402
    assert not BankCard.objects.exists()


def test_the_same_payment_method_is_saved_once(stripe, customer) -> None:
    method = _payment_method(stripe)
    bank_card_attach(customer=customer, payment_method_id=method)
    with pytest.raises(BankCardAlreadySaved):
        bank_card_attach(customer=customer, payment_method_id=method)


def test_a_failed_save_detaches_the_card_again(stripe, customer) -> None:
    """The database refuses the write after Stripe attached: the card is detached again."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'refused' USING ERRCODE = 'integrity_constraint_violation'; "
            "END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON wallet_bankcard "
            "FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"
        )
    method = _payment_method(stripe)
    with pytest.raises(IntegrityError):
        bank_card_attach(customer=customer, payment_method_id=method)
    assert stripe.v1.payment_methods.retrieve(method).customer is None


def test_default_is_the_card_set_most_recently_also_after_a_merge(stripe, merchant) -> None:
    survivor = CustomerFactory.create(merchant=merchant)
    absorbed = CustomerFactory.create(merchant=merchant)
    mine = bank_card_attach(customer=survivor, payment_method_id=_payment_method(stripe))
    theirs = bank_card_attach(customer=absorbed, payment_method_id=_payment_method(stripe))
    assert bank_card_default(customer=survivor) is None
    bank_card_set_default(bank_card=mine)
    bank_card_set_default(bank_card=theirs)
    BankCard.objects.filter(pk=theirs.pk).update(customer=survivor)  # what a merge does
    assert bank_card_default(customer=survivor) == theirs
    assert [card.pk for card in bank_cards_of(customer=survivor)] == [theirs.pk, mine.pk]
    # Cards keep their own Stripe Customer, so both can still be removed (and charged).
    assert theirs.stripe_customer_id != mine.stripe_customer_id
    bank_card_remove(bank_card=BankCard.objects.get(pk=theirs.pk))
    assert bank_card_default(customer=survivor) == mine
