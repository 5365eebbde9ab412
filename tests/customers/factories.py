"""Factories for the identity graph; values are stored already normalised."""

import factory

from customers.models import Channel, ConsentEvent, Identifier
from customers.normalisation import loyalty_card_number
from tests.factories import CustomerFactory


class IdentifierFactory(factory.django.DjangoModelFactory[Identifier]):
    class Meta:
        model = Identifier

    customer = factory.SubFactory(CustomerFactory)
    merchant = factory.SelfAttribute("customer.merchant")
    kind = Identifier.Kind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")
    verified = False
    source_channel = Channel.WEB


class LoyaltyCardFactory(IdentifierFactory):
    kind = Identifier.Kind.LOYALTY_CARD
    value = factory.Sequence(lambda n: loyalty_card_number(f"60{n:011d}"))
    source_channel = Channel.POS


class ConsentEventFactory(factory.django.DjangoModelFactory[ConsentEvent]):
    class Meta:
        model = ConsentEvent

    customer = factory.SubFactory(CustomerFactory)
    purpose = ConsentEvent.Purpose.MARKETING_EMAIL
    granted = True
    channel = Channel.WEB
    evidence = "checkout form v3, newsletter box ticked"
