"""Back office: find customers by any identifier spelling, merge with confirmation, audit."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from customers.models import Customer, CustomerMerge, Identifier, IdentityConflict
from customers.policy import PresentedIdentifier
from customers.services import customer_identify
from tests.customers.factories import ConsentEventFactory, IdentifierFactory, LoyaltyCardFactory
from tests.factories import CustomerFactory, MerchantFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/customers/customer/"


@pytest.fixture
def ada(merchant) -> Customer:
    customer = CustomerFactory.create(merchant=merchant, first_name="Ada", last_name="Lovelace")
    IdentifierFactory.create(customer=customer, kind="phone", value="+31612345678")
    IdentifierFactory.create(customer=customer, value="ada@xn--bcher-kva.example")
    return customer


@pytest.mark.parametrize("term", ["06 1234 5678", "+31 6 12345678", "ADA@Bücher.example"])
def test_search_finds_a_customer_by_any_spelling_of_an_identifier(admin_client, ada, term) -> None:
    CustomerFactory.create(merchant=ada.merchant, first_name="Bob")
    response = admin_client.get(CUSTOMERS, {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [ada]


def test_search_by_name_still_works(admin_client, ada) -> None:
    response = admin_client.get(CUSTOMERS, {"q": "Lovelace"})
    assert list(response.context["cl"].result_list) == [ada]


def test_customer_page_shows_identifiers_consents_and_merges(admin_client, ada) -> None:
    ConsentEventFactory.create(customer=ada, evidence="newsletter box on form v3")
    response = admin_client.get(f"{CUSTOMERS}{ada.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "+31612345678" in page
    assert "newsletter box on form v3" in page


def test_merge_action_asks_for_confirmation_then_merges(admin_client, admin_user, ada) -> None:
    other = LoyaltyCardFactory.create(customer__merchant=ada.merchant).customer
    selection = {"action": "merge_customers", ACTION_CHECKBOX_NAME: [ada.pk, other.pk]}

    confirmation = admin_client.post(CUSTOMERS, selection)
    assert confirmation.status_code == 200
    assert "Merge customers" in confirmation.content.decode()
    assert "+31612345678" in confirmation.content.decode()
    assert not CustomerMerge.objects.exists()

    done = admin_client.post(
        CUSTOMERS,
        {**selection, "post": "yes", "survivor": ada.pk, "reason": "same card holder"},
    )
    assert done.status_code == 302
    merge = CustomerMerge.objects.get()
    assert (merge.survivor, merge.absorbed, merge.source) == (ada, other, "admin")
    assert merge.user == admin_user
    assert merge.reason == "same card holder"
    assert admin_client.get(f"/admin/customers/customermerge/{merge.pk}/change/").status_code == 200

    undo = admin_client.post(
        "/admin/customers/customermerge/",
        {
            "action": "unmerge",
            ACTION_CHECKBOX_NAME: [merge.pk],
            "post": "yes",
            "reason": "different people after all",
        },
    )
    assert undo.status_code == 302
    merge.refresh_from_db()
    assert merge.unmerge_reason == "different people after all"
    other.refresh_from_db()
    assert other.merged_into is None


def test_merge_action_refuses_customers_of_different_merchants(admin_client, ada) -> None:
    stranger = CustomerFactory.create(merchant=MerchantFactory.create())
    response = admin_client.post(
        CUSTOMERS,
        {
            "action": "merge_customers",
            ACTION_CHECKBOX_NAME: [ada.pk, stranger.pk],
            "post": "yes",
            "survivor": ada.pk,
            "reason": "x",
        },
        follow=True,
    )
    assert "of one merchant" in response.content.decode()
    assert not CustomerMerge.objects.exists()


def test_conflicts_are_listed_and_resolved_in_the_admin(admin_client, merchant, ada) -> None:
    card = LoyaltyCardFactory.create(customer__merchant=merchant)
    identification = customer_identify(
        merchant=merchant,
        identifiers=[
            PresentedIdentifier("phone", "0612345678"),
            PresentedIdentifier("loyalty_card", card.value),
        ],
        channel="pos",
    )
    conflict = identification.conflict
    assert conflict is not None
    listing = admin_client.get("/admin/customers/identityconflict/")
    assert str(conflict) in listing.content.decode()
    assert (
        admin_client.get(f"/admin/customers/identityconflict/{conflict.pk}/change/").status_code
        == 200
    )
    admin_client.post(
        "/admin/customers/identityconflict/",
        {"action": "merge", ACTION_CHECKBOX_NAME: [conflict.pk], "post": "yes", "reason": "ok"},
    )
    conflict.refresh_from_db()
    assert conflict.status == IdentityConflict.Status.MERGED
    assert CustomerMerge.objects.get().conflict == conflict


def test_identifier_removal_action_frees_the_value(admin_client, ada) -> None:
    phone = Identifier.objects.get(customer=ada, kind="phone")
    found = admin_client.get("/admin/customers/identifier/", {"q": "06-12345678"})
    assert list(found.context["cl"].result_list) == [phone]
    admin_client.post(
        "/admin/customers/identifier/", {"action": "remove", ACTION_CHECKBOX_NAME: [phone.pk]}
    )
    phone.refresh_from_db()
    assert phone.removed_at is not None
    assert admin_client.get(CUSTOMERS, {"q": "0612345678"}).context["cl"].result_count == 0


def test_consent_history_is_read_only_in_the_admin(admin_client) -> None:
    event = ConsentEventFactory.create()
    assert admin_client.get("/admin/customers/consentevent/").status_code == 200
    page = admin_client.get(f"/admin/customers/consentevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
