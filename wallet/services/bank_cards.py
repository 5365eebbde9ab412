"""Bank cards saved at Stripe. Stripe is called first and outside any transaction or row lock;
the database write that follows is one short transaction. If that write fails after Stripe
attached the card, the card is detached again, so Stripe never keeps a card Kassa forgot.

Each write that gives a customer a row (the card, the Stripe Customer) locks the customer's
merge survivor first and writes to it: the customer may be merged while Stripe is called."""

import logging

import stripe
from django.db import transaction
from django.utils import timezone

from config.errors import CardDeclined, StripeRefused
from config.stripe import stripe_call, stripe_client
from customers.lock_objects import customers_lock_survivors
from customers.models import Customer
from customers.selectors import customer_survivor_id
from wallet.errors import (
    BankCardAlreadySaved,
    BankCardRemoved,
    InvalidPaymentMethod,
)
from wallet.models import BankCard, StripeCustomer

logger = logging.getLogger(__name__)


def _stripe_customer_id(customer: Customer) -> str:
    """The customer's (oldest) Stripe Customer, created at Stripe on first use.

    Two first attaches racing may create two Stripe Customers; both stay valid because every
    card remembers the Stripe Customer it is attached to.
    """
    existing = (
        StripeCustomer.objects.filter(customer_id=customer_survivor_id(customer.pk))
        .order_by("created_at", "pk")
        .first()
    )
    if existing is not None:
        return existing.stripe_id
    created = stripe_call(
        stripe_client().v1.customers.create,
        params={
            "metadata": {
                "kassa_customer": str(customer.public_id),
                "kassa_merchant": str(customer.merchant.public_id),
            }
        },
    )
    with transaction.atomic():
        StripeCustomer.objects.create(customer=_lock_survivor(customer), stripe_id=created.id)
    return created.id


def _lock_survivor(customer: Customer) -> Customer:
    return customers_lock_survivors(customer_ids=[customer.pk])[customer.pk]


def bank_card_attach(*, customer: Customer, payment_method_id: str) -> BankCard:
    """Save a PaymentMethod (made by Stripe.js in the customer's browser) to the customer."""
    if BankCard.objects.filter(payment_method_id=payment_method_id).exists():
        raise BankCardAlreadySaved(field="payment_method")
    try:
        stripe_customer_id = _stripe_customer_id(customer)
        method = stripe_call(
            stripe_client().v1.payment_methods.attach,
            payment_method_id,
            params={"customer": stripe_customer_id},
        )
    except CardDeclined as declined:
        declined.field = "payment_method"
        raise
    except StripeRefused as error:
        raise InvalidPaymentMethod(field="payment_method") from error
    card = method.card
    if method.type != "card" or card is None:
        _detach_quietly(payment_method_id)
        raise InvalidPaymentMethod("Only card PaymentMethods can be saved.", field="payment_method")
    try:
        with transaction.atomic():
            return BankCard.objects.create(
                merchant_id=customer.merchant_id,
                customer=_lock_survivor(customer),
                stripe_customer_id=stripe_customer_id,
                payment_method_id=method.id,
                brand=card.brand,
                last4=card.last4,
                exp_month=card.exp_month,
                exp_year=card.exp_year,
                fingerprint=card.fingerprint or "",
            )
    except Exception:
        _detach_quietly(payment_method_id)
        raise


def _detach_quietly(payment_method_id: str) -> None:
    """Compensation after a failed save: best effort, logged, never masks the first error."""
    try:
        stripe_client().v1.payment_methods.detach(payment_method_id)
    except stripe.StripeError:
        logger.exception("could not detach %s after a failed save", payment_method_id)


def bank_card_remove(*, bank_card: BankCard) -> BankCard:
    """Detach the card at Stripe, then mark it removed (payments may still refer to it)."""
    if bank_card.removed_at is not None:
        return bank_card
    try:
        stripe_call(stripe_client().v1.payment_methods.detach, bank_card.payment_method_id)
    except StripeRefused as error:
        # Already detached (e.g. by a previous attempt that failed before our write).
        logger.warning("detach of %s refused: %s", bank_card.payment_method_id, error)
    with transaction.atomic():
        BankCard.objects.filter(pk=bank_card.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), default_since=None
        )
    bank_card.refresh_from_db()
    return bank_card


@transaction.atomic
def bank_card_set_default(*, bank_card: BankCard) -> BankCard:
    """The default card is the live card set default most recently: one timestamp, no flag to
    keep unique, so a merge of two customers with a default each stays consistent."""
    card = BankCard.objects.select_for_update(of=("self",)).get(pk=bank_card.pk)
    if card.removed_at is not None:
        raise BankCardRemoved(field="bank_card")
    card.default_since = timezone.now()
    card.save(update_fields=["default_since"])
    return card
