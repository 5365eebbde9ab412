"""Merge moves everything the absorbed customer held; unmerge puts exactly that back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.errors import (
    ConflictAlreadyResolved,
    CustomersAlreadyMerged,
    MergeAcrossMerchants,
    MergeAlreadyUndone,
    MergeCustomerErased,
    MergedIdentifiersChanged,
    MergedRowsChanged,
    SurvivorMergedAgain,
)
from customers.models import (
    ConsentEvent,
    Customer,
    CustomerAccessGrant,
    CustomerMerge,
    Identifier,
    IdentityConflict,
    Strength,
)
from customers.policy import PresentedIdentifier
from customers.privacy.contract import privacy_handlers
from customers.selectors import consent_current, customer_get_for_api_key
from customers.services import (
    Outcome,
    customer_access_grant,
    customer_identify,
    customer_merge,
    customer_unmerge,
    identifier_remove,
    identity_conflict_resolve,
)
from merchants.models import ApiKey
from merchants.services import api_key_issue
from tests.customers.factories import ConsentEventFactory, IdentifierFactory, LoyaltyCardFactory
from tests.factories import CustomerFactory, MerchantFactory, TerminalFactory

pytestmark = pytest.mark.django_db


def merge(survivor: Customer, absorbed: Customer) -> CustomerMerge:
    return customer_merge(
        survivor=survivor,
        absorbed=absorbed,
        reason="same person, confirmed at the desk",
        source=CustomerMerge.Source.STAFF_API,
        actor="test",
    )


def unmerge(record: CustomerMerge) -> CustomerMerge:
    return customer_unmerge(merge=record, reason="not the same person", actor="test")


def till(merchant) -> ApiKey:
    terminal = TerminalFactory.create(store__merchant=merchant)
    return api_key_issue(
        merchant=merchant, scope=ApiKey.Scope.TERMINAL, name="till", terminal=terminal
    )[0]


def snapshot(merchant) -> dict[str, set]:
    """Who holds what: enough to compare the whole identity graph before and after."""
    return {
        "customers": set(
            Customer.objects.filter(merchant=merchant).values_list("pk", "merged_into_id")
        ),
        "identifiers": set(
            Identifier.objects.filter(merchant=merchant).values_list(
                "pk", "customer_id", "kind", "value", "verified", "removed_at"
            )
        ),
        "consents": set(
            ConsentEvent.objects.filter(customer__merchant=merchant).values_list(
                "pk", "customer_id", "purpose", "granted", "recorded_at"
            )
        ),
        "grants": set(
            CustomerAccessGrant.objects.filter(customer__merchant=merchant).values_list(
                "api_key_id", "customer_id", "granted_at", "expires_at"
            )
        ),
    }


@pytest.fixture
def pair(merchant):
    """Two customers of one merchant, each holding identifiers, consents and till grants."""
    survivor = CustomerFactory.create(merchant=merchant)
    absorbed = CustomerFactory.create(merchant=merchant)
    IdentifierFactory.create(customer=survivor, value="ada@example.com", verified=True)
    IdentifierFactory.create(customer=absorbed, value="ada.work@example.com")
    LoyaltyCardFactory.create(customer=absorbed)
    IdentifierFactory.create(customer=absorbed, kind="phone", value="+31612345678")
    ConsentEventFactory.create(customer=survivor, purpose="marketing_email", granted=True)
    ConsentEventFactory.create(customer=absorbed, purpose="marketing_sms", granted=True)
    shared_till, own_till = till(merchant), till(merchant)
    customer_access_grant(api_key=shared_till, customer=survivor)
    customer_access_grant(api_key=shared_till, customer=absorbed)
    customer_access_grant(api_key=own_till, customer=absorbed)
    # The absorbed customer's grant on the shared till outlives the survivor's.
    CustomerAccessGrant.objects.filter(customer=survivor).update(
        expires_at=timezone.now() + timedelta(minutes=5)
    )
    return survivor, absorbed, shared_till, own_till


def test_every_app_holding_customer_data_has_a_handler() -> None:
    found = {ref for handler in privacy_handlers() for ref in handler.references}
    assert {
        ("customers.identifier", "customer"),
        ("customers.consentevent", "customer"),
        ("customers.customeraccessgrant", "customer"),
        # Apps above customers are found without customers importing them.
        ("wallet.giftcard", "customer"),
        ("wallet.loyaltyaccount", "customer"),
        ("wallet.bankcard", "customer"),
    } <= found
    assert {handler.app_label for handler in privacy_handlers()} == {
        "customers",
        "wallet",
        "payments",
        "portal",
        "insights",
    }


def test_merge_moves_everything_and_leaves_a_redirecting_tombstone(merchant, pair) -> None:
    survivor, absorbed, shared_till, own_till = pair
    absorbed_identifiers = set(absorbed.identifiers.values_list("pk", flat=True))
    absorbed_consents = set(absorbed.consent_events.values_list("pk", flat=True))
    moved_grant = CustomerAccessGrant.objects.get(customer=absorbed, api_key=own_till)
    absorbed_shared_expiry = CustomerAccessGrant.objects.get(
        customer=absorbed, api_key=shared_till
    ).expires_at

    record = merge(survivor, absorbed)

    absorbed.refresh_from_db()
    assert absorbed.merged_into == survivor
    assert not absorbed.identifiers.exists()
    assert not absorbed.consent_events.exists()
    assert not absorbed.access_grants.exists()
    assert absorbed_identifiers < set(survivor.identifiers.values_list("pk", flat=True))
    assert absorbed_consents < set(survivor.consent_events.values_list("pk", flat=True))
    # Grants: the one only the absorbed had moved; on the shared key the later expiry won.
    assert CustomerAccessGrant.objects.get(pk=moved_grant.pk).customer == survivor
    assert (
        CustomerAccessGrant.objects.get(customer=survivor, api_key=shared_till).expires_at
        == absorbed_shared_expiry
    )
    # The audit says exactly what moved.
    moved = {(m["model"], m["field"]): set(m["pks"]) for m in record.moved}
    assert moved == {
        ("customers.identifier", "customer"): absorbed_identifiers,
        ("customers.consentevent", "customer"): absorbed_consents,
        ("customers.customeraccessgrant", "customer"): {moved_grant.pk},
    }
    assert [c["api_key"] for c in record.grant_collisions] == [shared_till.pk]
    assert (record.reason, record.actor, record.source) == (
        "same person, confirmed at the desk",
        "test",
        "staff_api",
    )
    # Every way to the absorbed customer now leads to the survivor.
    shop = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")[0]
    assert customer_get_for_api_key(api_key=shop, public_id=absorbed.public_id) == survivor
    reached = customer_get_for_api_key(
        api_key=own_till, public_id=absorbed.public_id, strength=Strength.WEAK
    )
    assert reached == survivor
    found = customer_identify(
        merchant=merchant,
        identifiers=[PresentedIdentifier("phone", "06 12345678")],
        channel="pos",
    )
    assert (found.outcome, found.customer) == (Outcome.MATCHED, survivor)
    assert set(consent_current(customer=survivor)) >= {"marketing_email", "marketing_sms"}
    assert consent_current(customer=survivor)["marketing_sms"] is not None


def test_latest_consent_across_both_customers_wins_after_merge(merchant) -> None:
    survivor, absorbed = CustomerFactory.create_batch(2, merchant=merchant)
    ConsentEventFactory.create(
        customer=survivor, granted=True, recorded_at=timezone.now() - timedelta(days=30)
    )
    ConsentEventFactory.create(customer=absorbed, granted=False)
    merge(survivor, absorbed)
    current = consent_current(customer=survivor)["marketing_email"]
    assert current is not None
    assert current.granted is False


def test_unmerge_restores_the_previous_state(merchant, pair) -> None:
    survivor, absorbed, *_ = pair
    before = snapshot(merchant)
    record = merge(survivor, absorbed)
    assert snapshot(merchant) != before

    unmerge(record)

    assert snapshot(merchant) == before
    record.refresh_from_db()
    assert record.unmerged_at is not None
    assert (record.unmerged_by, record.unmerge_reason) == ("test", "not the same person")
    absorbed.refresh_from_db()
    assert absorbed.merged_into is None


def test_rows_added_to_the_survivor_after_the_merge_stay_there(merchant, pair) -> None:
    survivor, absorbed, *_ = pair
    record = merge(survivor, absorbed)
    later = IdentifierFactory.create(customer=survivor, value="later@example.com")
    unmerge(record)
    later.refresh_from_db()
    assert later.customer == survivor


def test_unmerge_twice_is_refused(pair) -> None:
    record = merge(*pair[:2])
    unmerge(record)
    with pytest.raises(MergeAlreadyUndone):
        unmerge(record)


def test_unmerge_is_refused_when_the_survivor_was_merged_again(merchant, pair) -> None:
    survivor, absorbed, *_ = pair
    first = merge(survivor, absorbed)
    merge(CustomerFactory.create(merchant=merchant), survivor)
    with pytest.raises(SurvivorMergedAgain):
        unmerge(first)
    absorbed.refresh_from_db()
    assert absorbed.merged_into == survivor


def test_unmerge_is_refused_when_a_moved_identifier_was_removed(pair) -> None:
    survivor, absorbed, *_ = pair
    phone = Identifier.objects.get(customer=absorbed, kind="phone")
    record = merge(survivor, absorbed)
    identifier_remove(identifier=phone)
    before = snapshot(survivor.merchant)
    with pytest.raises(MergedIdentifiersChanged) as caught:
        unmerge(record)
    assert caught.value.status == 409
    assert snapshot(survivor.merchant) == before


def test_unmerge_is_refused_when_a_moved_row_now_belongs_elsewhere(merchant, pair) -> None:
    survivor, absorbed, *_ = pair
    record = merge(survivor, absorbed)
    grant_pks = next(
        m["pks"] for m in record.moved if m["model"] == "customers.customeraccessgrant"
    )
    CustomerAccessGrant.objects.filter(pk__in=grant_pks).update(
        customer=CustomerFactory.create(merchant=merchant)
    )
    with pytest.raises(MergedRowsChanged):
        unmerge(record)


def test_merge_refusals(merchant) -> None:
    one, other = CustomerFactory.create_batch(2, merchant=merchant)
    with pytest.raises(MergeAcrossMerchants):
        merge(one, CustomerFactory.create(merchant=MerchantFactory.create()))
    with pytest.raises(CustomersAlreadyMerged):
        merge(one, one)
    merge(one, other)
    with pytest.raises(CustomersAlreadyMerged):
        merge(one, other)
    erased = CustomerFactory.create(merchant=merchant, erased_at=timezone.now())
    with pytest.raises(MergeCustomerErased):
        merge(one, erased)


def test_merging_into_a_tombstone_follows_it_to_the_survivor(merchant) -> None:
    first, second, third = CustomerFactory.create_batch(3, merchant=merchant)
    merge(first, second)
    record = merge(second, third)  # `second` is a tombstone by now
    assert record.survivor == first
    third.refresh_from_db()
    assert third.merged_into == first


def test_reviewed_conflict_can_be_merged_or_dismissed(merchant) -> None:
    card = LoyaltyCardFactory.create(customer__merchant=merchant)
    IdentifierFactory.create(customer__merchant=merchant, value="ada@example.com")
    presented = [
        PresentedIdentifier("loyalty_card", card.value),
        PresentedIdentifier("email", "ada@example.com"),
    ]
    identification = customer_identify(merchant=merchant, identifiers=presented, channel="pos")
    conflict = identification.conflict
    assert conflict is not None
    resolved = identity_conflict_resolve(conflict=conflict, merge=True, actor="reviewer")
    assert resolved.status == IdentityConflict.Status.MERGED
    record = CustomerMerge.objects.get()
    assert (record.survivor, record.conflict, record.source) == (
        conflict.best_match,
        conflict,
        "admin",
    )
    with pytest.raises(ConflictAlreadyResolved):
        identity_conflict_resolve(conflict=conflict, merge=False, actor="reviewer")

    unmerge(record)
    again = customer_identify(merchant=merchant, identifiers=presented, channel="pos")
    assert again.conflict is not None
    assert again.conflict.pk != conflict.pk
    dismissed = identity_conflict_resolve(
        conflict=again.conflict, merge=False, actor="reviewer", note="twins"
    )
    assert (dismissed.status, dismissed.resolution_note) == ("dismissed", "twins")
    assert CustomerMerge.objects.count() == 1
