"""Resolution: which one customer stands behind the identifiers a touchpoint presents."""

import pytest

from customers.models import (
    Customer,
    CustomerAccessGrant,
    CustomerMerge,
    Identifier,
    IdentityConflict,
)
from customers.normalisation import loyalty_card_number
from customers.policy import CustomerMatch, PresentedIdentifier
from customers.selectors import customer_survivor
from customers.services import IdentifierStatus, Outcome, customer_identify, identifier_remove
from tests.customers.factories import IdentifierFactory, LoyaltyCardFactory
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db

CARD = loyalty_card_number("601234567890")


def identify(merchant, *presented: PresentedIdentifier, **options):
    options.setdefault("channel", "pos")
    return customer_identify(merchant=merchant, identifiers=presented, **options)


def statuses(identification) -> dict[str, str]:
    return {item.value: item.status for item in identification.identifiers}


def test_nobody_matches_creates_the_customer_with_normalised_identifiers(merchant) -> None:
    result = identify(
        merchant,
        PresentedIdentifier("email", " Ada@Example.com", verified=True),
        PresentedIdentifier("phone", "06 12345678"),
        first_name="Ada",
        channel="web",
    )
    assert result.outcome == Outcome.CREATED
    assert result.conflict is None
    customer = result.customer
    assert customer is not None
    assert customer.first_name == "Ada"
    stored = {(i.kind, i.value, i.verified, i.source_channel) for i in customer.identifiers.all()}
    assert stored == {
        ("email", "ada@example.com", True, "web"),
        ("phone", "+31612345678", False, "web"),
    }
    assert statuses(result) == {
        "ada@example.com": IdentifierStatus.ATTACHED,
        "+31612345678": IdentifierStatus.ATTACHED,
    }


def test_lookup_without_create_answers_unknown_and_writes_nothing(merchant) -> None:
    result = identify(merchant, PresentedIdentifier("loyalty_card", CARD), create=False)
    assert result.outcome == Outcome.UNKNOWN
    assert result.customer is None
    assert statuses(result) == {CARD: IdentifierStatus.UNKNOWN}
    assert not Customer.objects.exists()
    assert not Identifier.objects.exists()


def test_one_match_attaches_new_identifiers_unverified(merchant) -> None:
    card = LoyaltyCardFactory.create(customer__merchant=merchant, value=CARD, verified=True)
    result = identify(
        merchant,
        PresentedIdentifier("loyalty_card", CARD.replace("6012", "6012 ")),
        PresentedIdentifier("email", "NEW@example.com", verified=True),
    )
    assert result.outcome == Outcome.MATCHED
    assert result.customer == card.customer
    email = Identifier.objects.get(kind="email")
    assert email.customer == card.customer
    assert email.verified is False
    assert email.source_channel == "pos"
    assert statuses(result) == {
        CARD: IdentifierStatus.MATCHED,
        "new@example.com": IdentifierStatus.ATTACHED,
    }
    assert Customer.objects.count() == 1


def test_presenting_a_known_identifier_verified_upgrades_it_and_touches_last_seen(merchant) -> None:
    phone = IdentifierFactory.create(
        customer__merchant=merchant, kind="phone", value="+31612345678", verified=False
    )
    before = phone.last_seen_at
    result = identify(merchant, PresentedIdentifier("phone", "06 1234 5678", verified=True))
    phone.refresh_from_db()
    assert phone.verified is True
    assert phone.last_seen_at > before
    assert result.identifiers[0].verified is True


def test_several_customers_linked_by_verified_identifiers_are_merged(merchant, till_key) -> None:
    older = IdentifierFactory.create(
        customer__merchant=merchant, value="ada@example.com", verified=True
    ).customer
    newer = LoyaltyCardFactory.create(
        customer__merchant=merchant, value=CARD, verified=True
    ).customer
    result = identify(
        merchant,
        PresentedIdentifier("email", "ada@example.com", verified=True),
        PresentedIdentifier("loyalty_card", CARD, verified=True),
        PresentedIdentifier("phone", "+31 6 12345678"),
        api_key=till_key,
    )
    assert result.outcome == Outcome.MERGED
    assert result.conflict is None
    assert result.customer == older
    newer.refresh_from_db()
    assert newer.merged_into == older
    assert customer_survivor(newer) == older
    assert set(older.identifiers.values_list("value", flat=True)) == {
        "ada@example.com",
        CARD,
        "+31612345678",
    }
    merge = CustomerMerge.objects.get()
    assert (merge.survivor, merge.absorbed, merge.source) == (older, newer, "identify")
    assert merge.api_key == till_key
    assert CustomerAccessGrant.objects.filter(api_key=till_key, customer=older).exists()


@pytest.mark.parametrize(
    ("stored_verified", "presented_verified"),
    [(False, True), (True, False)],
    ids=["card-unverified-on-record", "someone-elses-verified-card-presented-unverified"],
)
def test_a_link_not_verified_on_both_sides_is_a_conflict_and_moves_nothing(
    merchant, till_key, stored_verified, presented_verified
) -> None:
    ada = IdentifierFactory.create(
        customer__merchant=merchant, value="ada@example.com", verified=True
    ).customer
    bob = LoyaltyCardFactory.create(
        customer__merchant=merchant, value=CARD, verified=stored_verified
    ).customer
    result = identify(
        merchant,
        PresentedIdentifier("email", "ada@example.com", verified=True),
        PresentedIdentifier("loyalty_card", CARD, verified=presented_verified),
        PresentedIdentifier("phone", "0612345678"),
        api_key=till_key,
    )
    assert result.outcome == Outcome.MATCHED
    assert result.customer == ada  # the verified link ranks first
    assert result.conflict is not None
    assert statuses(result) == {
        "ada@example.com": IdentifierStatus.MATCHED,
        CARD: IdentifierStatus.OTHER_CUSTOMER,
        "+31612345678": IdentifierStatus.UNKNOWN,
    }
    # Bob's card is still Bob's, nothing was attached, nobody merged.
    assert Identifier.objects.get(value=CARD).customer == bob
    assert not Identifier.objects.filter(kind="phone").exists()
    assert not CustomerMerge.objects.exists()
    assert Customer.objects.filter(merged_into__isnull=True).count() == 2
    conflict = IdentityConflict.objects.get()
    assert set(conflict.customers.all()) == {ada, bob}
    assert conflict.best_match == ada
    assert conflict.status == IdentityConflict.Status.OPEN
    assert conflict.api_key == till_key
    assert {item["value"] for item in conflict.presented} == {
        "ada@example.com",
        CARD,
        "+31612345678",
    }


def test_the_same_conflict_again_is_counted_not_duplicated(merchant) -> None:
    IdentifierFactory.create(customer__merchant=merchant, value="ada@example.com")
    LoyaltyCardFactory.create(customer__merchant=merchant, value=CARD)
    presented = (
        PresentedIdentifier("email", "ada@example.com"),
        PresentedIdentifier("loyalty_card", CARD),
    )
    first = identify(merchant, *presented)
    second = identify(merchant, *presented)
    assert first.conflict is not None
    assert second.conflict is not None
    assert first.conflict.pk == second.conflict.pk
    assert IdentityConflict.objects.get().occurrences == 2


def test_identifiers_of_another_merchant_never_match(merchant) -> None:
    LoyaltyCardFactory.create(
        customer__merchant=MerchantFactory.create(), value=CARD, verified=True
    )
    result = identify(merchant, PresentedIdentifier("loyalty_card", CARD, verified=True))
    assert result.outcome == Outcome.CREATED
    assert result.customer is not None
    assert result.customer.merchant == merchant
    assert Identifier.objects.filter(value=CARD).count() == 2


def test_removed_identifiers_do_not_match(merchant) -> None:
    old = LoyaltyCardFactory.create(customer__merchant=merchant, value=CARD, verified=True)
    identifier_remove(identifier=old)
    result = identify(merchant, PresentedIdentifier("loyalty_card", CARD))
    assert result.outcome == Outcome.CREATED
    assert result.customer != old.customer


def test_a_stricter_policy_is_a_parameter(merchant) -> None:
    IdentifierFactory.create(customer__merchant=merchant, value="ada@example.com", verified=True)
    LoyaltyCardFactory.create(customer__merchant=merchant, value=CARD, verified=True)

    def never(matches: list[CustomerMatch]) -> bool:
        return False

    result = identify(
        merchant,
        PresentedIdentifier("email", "ada@example.com", verified=True),
        PresentedIdentifier("loyalty_card", CARD, verified=True),
        policy=never,
    )
    assert result.conflict is not None
    assert not CustomerMerge.objects.exists()


def test_terminal_identification_grants_the_till_access(merchant, till_key, shop_key) -> None:
    result = identify(merchant, PresentedIdentifier("loyalty_card", CARD), api_key=till_key)
    assert CustomerAccessGrant.objects.filter(api_key=till_key, customer=result.customer).exists()
    identify(merchant, PresentedIdentifier("loyalty_card", CARD), api_key=shop_key)
    assert CustomerAccessGrant.objects.count() == 1
