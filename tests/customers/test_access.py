"""Who may reach a customer: shop and staff keys of their merchant, tills that identified them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.errors import CustomerErased, CustomerNotFound, StrongPresentationRequired
from customers.models import CustomerAccessGrant, Strength
from customers.selectors import customer_get_for_api_key
from customers.services import customer_access_grant
from merchants.models import ApiKey
from merchants.services import api_key_issue
from tests.factories import CustomerFactory, MerchantFactory, TerminalFactory

pytestmark = pytest.mark.django_db


def _key(merchant, scope, terminal=None) -> ApiKey:
    return api_key_issue(merchant=merchant, scope=scope, name=scope, terminal=terminal)[0]


def test_merchant_key_reaches_own_customers_only() -> None:
    customer = CustomerFactory.create()
    own = _key(customer.merchant, ApiKey.Scope.MERCHANT)
    assert customer_get_for_api_key(api_key=own, public_id=customer.public_id) == customer
    foreign = _key(MerchantFactory.create(), ApiKey.Scope.MERCHANT)
    with pytest.raises(CustomerNotFound):
        customer_get_for_api_key(api_key=foreign, public_id=customer.public_id)


def test_till_needs_a_live_grant_and_a_strong_one_for_the_wallet() -> None:
    customer = CustomerFactory.create()
    terminal = TerminalFactory.create(store__merchant=customer.merchant)
    till = _key(customer.merchant, ApiKey.Scope.TERMINAL, terminal)

    def weak() -> object:
        return customer_get_for_api_key(
            api_key=till, public_id=customer.public_id, strength=Strength.WEAK
        )

    with pytest.raises(CustomerNotFound):
        weak()
    customer_access_grant(api_key=till, customer=customer)
    assert weak() == customer
    with pytest.raises(StrongPresentationRequired):
        customer_get_for_api_key(api_key=till, public_id=customer.public_id)
    customer_access_grant(api_key=till, customer=customer, strength=Strength.WALLET)
    assert customer_get_for_api_key(api_key=till, public_id=customer.public_id) == customer
    CustomerAccessGrant.objects.update(wallet_strong_until=timezone.now())
    with pytest.raises(StrongPresentationRequired):
        customer_get_for_api_key(api_key=till, public_id=customer.public_id)
    assert weak() == customer
    CustomerAccessGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(CustomerNotFound):
        weak()


def test_tombstone_leads_to_survivor_and_erased_is_unreachable() -> None:
    survivor = CustomerFactory.create()
    absorbed = CustomerFactory.create(merchant=survivor.merchant, merged_into=survivor)
    key = _key(survivor.merchant, ApiKey.Scope.MERCHANT)
    assert customer_get_for_api_key(api_key=key, public_id=absorbed.public_id) == survivor
    survivor.erased_at = timezone.now()
    survivor.save()
    with pytest.raises(CustomerErased):  # 410: gone, not unknown
        customer_get_for_api_key(api_key=key, public_id=absorbed.public_id)


def test_malformed_id_is_not_found() -> None:
    key = _key(MerchantFactory.create(), ApiKey.Scope.MERCHANT)
    with pytest.raises(CustomerNotFound):
        customer_get_for_api_key(api_key=key, public_id="not-a-uuid")


def test_a_till_reads_the_customer_with_its_own_grant_in_one_query(
    django_assert_num_queries,
) -> None:
    customer = CustomerFactory.create()
    granted, other = (
        _key(customer.merchant, ApiKey.Scope.TERMINAL, TerminalFactory(store__merchant=m))
        for m in (customer.merchant, customer.merchant)
    )
    customer_access_grant(api_key=granted, customer=customer, strength=Strength.WALLET)
    with django_assert_num_queries(1):
        assert customer_get_for_api_key(api_key=granted, public_id=customer.public_id) == customer
    with pytest.raises(CustomerNotFound):  # another till's grant is not this one's
        customer_get_for_api_key(api_key=other, public_id=customer.public_id)
