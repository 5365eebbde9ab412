"""factory_boy factories for the shared models; each app's tests add their own beside them."""

import factory

from customers.models import Customer
from merchants.models import Merchant, Store, Terminal


class MerchantFactory(factory.django.DjangoModelFactory[Merchant]):
    class Meta:
        model = Merchant

    name = factory.Sequence(lambda n: f"Merchant {n}")


class StoreFactory(factory.django.DjangoModelFactory[Store]):
    class Meta:
        model = Store

    merchant = factory.SubFactory(MerchantFactory)
    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Faker("city")


class TerminalFactory(factory.django.DjangoModelFactory[Terminal]):
    class Meta:
        model = Terminal

    store = factory.SubFactory(StoreFactory)
    code = factory.Sequence(lambda n: f"T{n}")


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    merchant = factory.SubFactory(MerchantFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
