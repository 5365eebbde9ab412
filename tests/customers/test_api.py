"""The customer API over HTTP: identify, profile, consent, staff merge and unmerge."""

import pytest
from django.db import IntegrityError, transaction

from customers.models import ConsentEvent, Customer, CustomerMerge, Identifier
from customers.normalisation import loyalty_card_number
from tests.customers.factories import ConsentEventFactory, IdentifierFactory, LoyaltyCardFactory
from tests.factories import CustomerFactory, MerchantFactory

pytestmark = pytest.mark.django_db

CARD = loyalty_card_number("601234567890")
IDENTIFY = "/api/v1/customers/identify"


def test_identify_creates_then_matches(merchant_api) -> None:
    body = {
        "identifiers": [
            {"kind": "email", "value": "Ada@Example.com", "verified": True},
            {"kind": "loyalty_card", "value": CARD},
        ],
        "first_name": "Ada",
    }
    created = merchant_api.post(IDENTIFY, body, format="json")
    assert created.status_code == 201
    answer = created.json()
    assert answer["outcome"] == "created"
    assert answer["conflict"] is False
    assert answer["identifiers"] == [
        {"kind": "email", "value": "ada@example.com", "verified": True, "status": "attached"},
        {"kind": "loyalty_card", "value": CARD, "verified": False, "status": "attached"},
    ]
    customer = Customer.objects.get(public_id=answer["customer"])
    assert customer.first_name == "Ada"
    assert set(customer.identifiers.values_list("source_channel", flat=True)) == {"web"}

    matched = merchant_api.post(
        IDENTIFY, {"identifiers": [{"kind": "loyalty_card", "value": CARD}]}, format="json"
    )
    assert matched.status_code == 200
    assert matched.json()["customer"] == answer["customer"]
    assert matched.json()["outcome"] == "matched"


def test_lookup_only_answers_unknown(terminal_api) -> None:
    response = terminal_api.post(
        IDENTIFY,
        {"identifiers": [{"kind": "phone", "value": "0612345678"}], "create": False},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "customer": None,
        "outcome": "unknown",
        "conflict": False,
        "identifiers": [
            {"kind": "phone", "value": "+31612345678", "verified": False, "status": "unknown"}
        ],
        "strength": None,
    }
    assert not Customer.objects.exists()


def test_till_that_identified_a_customer_may_read_them(merchant, terminal_api) -> None:
    card = LoyaltyCardFactory.create(customer__merchant=merchant, value=CARD)
    profile_url = f"/api/v1/customers/{card.customer.public_id}"
    assert terminal_api.get(profile_url).status_code == 404
    identified = terminal_api.post(
        IDENTIFY, {"identifiers": [{"kind": "loyalty_card", "value": CARD}]}, format="json"
    )
    assert identified.json()["customer"] == str(card.customer.public_id)
    assert terminal_api.get(profile_url).status_code == 200


def test_conflict_reveals_nothing_beyond_what_was_presented(merchant, terminal_api) -> None:
    ada = IdentifierFactory.create(
        customer__merchant=merchant, value="ada@example.com", verified=True
    ).customer
    bob = LoyaltyCardFactory.create(customer__merchant=merchant, value=CARD).customer
    IdentifierFactory.create(customer=bob, kind="phone", value="+31687654321")
    response = terminal_api.post(
        IDENTIFY,
        {
            "identifiers": [
                {"kind": "email", "value": "ada@example.com", "verified": True},
                {"kind": "loyalty_card", "value": CARD, "verified": True},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["customer"] == str(ada.public_id)
    assert answer["outcome"] == "matched"
    assert answer["conflict"] is True
    assert [i["status"] for i in answer["identifiers"]] == ["matched", "other_customer"]
    assert str(bob.public_id) not in response.content.decode()
    assert "+31687654321" not in response.content.decode()
    assert terminal_api.get(f"/api/v1/customers/{bob.public_id}").status_code == 404


def test_bad_identifiers_get_one_error_each_and_change_nothing(merchant_api) -> None:
    response = merchant_api.post(
        IDENTIFY,
        {
            "identifiers": [
                {"kind": "email", "value": "ada@example.com"},
                {"kind": "email", "value": "not-an-email"},
                {"kind": "phone", "value": "12"},
                {"kind": "loyalty_card", "value": "79927398710"},
                {"kind": "passport", "value": "X1"},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert [(e["code"], e["field"]) for e in body["errors"]] == [
        ("invalid_email", "identifiers[1].value"),
        ("invalid_phone", "identifiers[2].value"),
        ("invalid_loyalty_card", "identifiers[3].value"),
        ("unknown_identifier_kind", "identifiers[4].kind"),
    ]
    assert (body["code"], body["field"]) == ("invalid_email", "identifiers[1].value")
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"identifiers": []}, "no_identifiers", "identifiers"),
        ({}, "required", "identifiers"),
        ({"identifiers": [{"kind": "email"}]}, "required", "identifiers[0].value"),
        (
            {"identifiers": [{"kind": "email", "value": "a@b.nl"}], "channel": "fax"},
            "invalid_choice",
            "channel",
        ),
    ],
)
def test_malformed_identify_requests(merchant_api, body, code, field) -> None:
    response = merchant_api.post(IDENTIFY, body, format="json")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (code, field)


def test_profile_shows_identifiers_and_current_consents(merchant, merchant_api) -> None:
    customer = CustomerFactory.create(merchant=merchant, first_name="Ada")
    IdentifierFactory.create(customer=customer, value="ada@example.com", verified=True)
    IdentifierFactory.create(
        customer=customer, value="old@example.com", removed_at="2025-01-01T00:00Z"
    )
    ConsentEventFactory.create(customer=customer, purpose="marketing_sms", granted=True)
    response = merchant_api.get(f"/api/v1/customers/{customer.public_id}")
    assert response.status_code == 200
    profile = response.json()
    assert profile["first_name"] == "Ada"
    assert [(i["kind"], i["value"], i["verified"]) for i in profile["identifiers"]] == [
        ("email", "ada@example.com", True)
    ]
    consents = {c["purpose"]: c["granted"] for c in profile["consents"]}
    assert consents == {
        "marketing_email": False,
        "marketing_sms": True,
        "in_store_notifications": False,
        "personalisation": False,
        "analytics": False,
    }
    assert "purchases" not in profile


def test_profile_of_another_merchants_customer_is_not_found(merchant_api) -> None:
    stranger = CustomerFactory.create(merchant=MerchantFactory.create())
    response = merchant_api.get(f"/api/v1/customers/{stranger.public_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"


def test_consent_is_recorded_and_read_back_latest_first(merchant, terminal_api) -> None:
    customer = LoyaltyCardFactory.create(customer__merchant=merchant, value=CARD).customer
    scanned = {"identifiers": [{"kind": "loyalty_card", "value": CARD, "presentation": "scanned"}]}
    terminal_api.post(IDENTIFY, scanned, format="json")
    url = f"/api/v1/customers/{customer.public_id}"
    for granted in (True, False):
        recorded = terminal_api.post(
            f"{url}/consent-events",
            {"purpose": "marketing_email", "granted": granted, "evidence": "asked at till 1"},
            format="json",
        )
        assert recorded.status_code == 201
        assert recorded.json()["channel"] == "pos"
    current = {c["purpose"]: c for c in terminal_api.get(f"{url}/consents").json()}
    assert current["marketing_email"]["granted"] is False
    assert current["marketing_email"]["evidence"] == "asked at till 1"
    assert current["personalisation"]["recorded_at"] is None
    assert ConsentEvent.objects.filter(customer=customer).count() == 2
    assert set(ConsentEvent.objects.values_list("api_key__scope", flat=True)) == {"terminal"}


def test_bad_consent_is_refused(merchant, merchant_api) -> None:
    customer = CustomerFactory.create(merchant=merchant)
    response = merchant_api.post(
        f"/api/v1/customers/{customer.public_id}/consent-events",
        {"purpose": "telepathy", "granted": True, "evidence": ""},
        format="json",
    )
    assert response.status_code == 400
    assert {(e["code"], e["field"]) for e in response.json()["errors"]} == {
        ("invalid_choice", "purpose"),
        ("blank", "evidence"),
    }
    assert not ConsentEvent.objects.exists()


def test_consent_history_cannot_be_rewritten_or_deleted() -> None:
    event = ConsentEventFactory.create()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ConsentEvent.objects.filter(pk=event.pk).update(granted=False)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ConsentEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.granted is True


def test_staff_merge_and_unmerge_over_the_api(merchant, staff_api, merchant_api) -> None:
    survivor, absorbed = CustomerFactory.create_batch(2, merchant=merchant)
    IdentifierFactory.create(customer=absorbed, value="ada@example.com")
    body = {
        "survivor": str(survivor.public_id),
        "absorbed": str(absorbed.public_id),
        "reason": "customer asked at the service desk",
    }
    assert merchant_api.post("/api/v1/customers/merges", body, format="json").status_code == 403

    merged = staff_api.post("/api/v1/customers/merges", body, format="json")
    assert merged.status_code == 201
    record = merged.json()
    assert record["survivor"] == str(survivor.public_id)
    assert record["moved"] == [{"model": "customers.identifier", "field": "customer", "count": 1}]
    assert record["actor"].startswith("api_key:")  # the config.actors format
    again = staff_api.post("/api/v1/customers/merges", body, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "customers_already_merged")
    profile = merchant_api.get(f"/api/v1/customers/{absorbed.public_id}").json()
    assert profile["public_id"] == str(survivor.public_id)

    unmerge_url = f"/api/v1/customers/merges/{record['id']}/unmerge"
    assert merchant_api.post(unmerge_url, {"reason": "x"}, format="json").status_code == 403
    undone = staff_api.post(unmerge_url, {"reason": "two different people"}, format="json")
    assert undone.status_code == 200
    assert undone.json()["unmerged_at"] is not None
    assert Identifier.objects.get(value="ada@example.com").customer == absorbed
    twice = staff_api.post(unmerge_url, {"reason": "again"}, format="json")
    assert (twice.status_code, twice.json()["code"]) == (409, "merge_already_undone")


def test_staff_cannot_merge_or_unmerge_across_merchants(merchant, staff_api) -> None:
    own = CustomerFactory.create(merchant=merchant)
    foreign = CustomerFactory.create(merchant=MerchantFactory.create())
    response = staff_api.post(
        "/api/v1/customers/merges",
        {"survivor": str(own.public_id), "absorbed": str(foreign.public_id), "reason": "x"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (404, "customer_not_found")
    foreign_merge = CustomerMerge.objects.create(
        merchant=foreign.merchant,
        survivor=foreign,
        absorbed=CustomerFactory.create(merchant=foreign.merchant),
        source="admin",
        reason="x",
        actor="x",
    )
    response = staff_api.post(
        f"/api/v1/customers/merges/{foreign_merge.public_id}/unmerge",
        {"reason": "x"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (404, "merge_not_found")
