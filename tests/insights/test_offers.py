"""Offers: precomputed, consent-gated, and a dismissed product never comes back."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import ConsentPurpose, Customer, Identifier
from customers.services import consent_allows, consent_allows_sql
from insights.api.serializers import OffersOutput
from insights.models import Feedback, Product, Profile, Purchase, Recommendation, Touchpoint
from insights.selectors import offers_for
from insights.services import offers_train
from merchants.models import Merchant
from tests.insights.conftest import consent

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def trained(merchant: Merchant, history_csv: Path) -> Customer:
    """The synthetic history imported; the first customer consents; offers trained."""
    call_command("history_import", str(history_csv), stdout=StringIO())
    for identifier in Identifier.objects.select_related("customer"):
        consent(identifier.customer)
    offers_train(merchant=merchant, now=NOW)
    return Identifier.objects.get(value="c00000").customer


def offers(api: APIClient, customer: Customer, **query) -> dict:
    response = api.get(f"/api/v1/customers/{customer.public_id}/offers", query)
    assert response.status_code == 200, response.json()
    return response.json()


def feedback(api: APIClient, customer: Customer, sku: str, kind: str):
    path = f"/api/v1/customers/{customer.public_id}/offers/{sku}/feedback"
    return api.post(path, {"kind": kind}, format="json")


def test_a_consenting_customer_gets_their_offers_with_reasons(
    merchant_api: APIClient, trained: Customer
) -> None:
    answer = offers(merchant_api, trained, limit=5)
    assert answer["personalised"] is True
    assert len(answer["offers"]) == 5
    bought = set(Purchase.objects.filter(customer=trained).values_list("sku", flat=True))
    for offer in answer["offers"]:
        assert offer["reason"] in {"bought_before", "similar_customers"}
        assert (offer["reason"] == "bought_before") <= (offer["sku"] in bought)
        assert offer["name"]
    profile = Profile.objects.get(customer=trained)
    assert profile.frequency > 0
    assert set(profile.spend_by_channel) <= {"web", "pos"}
    assert profile.favourite_categories


def test_a_dismissed_product_goes_at_once_and_never_comes_back(
    merchant: Merchant, merchant_api: APIClient, trained: Customer
) -> None:
    first = offers(merchant_api, trained)["offers"][0]
    response = feedback(merchant_api, trained, first["sku"], "not_interested")
    assert response.status_code == 201
    assert first["sku"] not in {
        o["sku"] for o in offers(merchant_api, trained, limit=100)["offers"]
    }
    offers_train(merchant=merchant, now=NOW)
    assert not Recommendation.objects.filter(customer=trained, sku=first["sku"]).exists()
    assert first["sku"] not in {
        o["sku"] for o in offers(merchant_api, trained, limit=100)["offers"]
    }
    # Nor among the popular ones, once consent is withdrawn.
    consent(trained, granted=False)
    popular = offers(merchant_api, trained, limit=100)
    assert popular["personalised"] is False
    assert first["sku"] not in {o["sku"] for o in popular["offers"]}


def test_dismissing_down_weights_the_category(merchant_api: APIClient, trained: Customer) -> None:
    first = offers(merchant_api, trained)["offers"][0]
    category = Product.objects.get(sku=first["sku"]).category
    same = {p.sku for p in Product.objects.filter(category=category)}
    before = dict(
        Recommendation.objects.filter(customer=trained, sku__in=same).values_list("sku", "score")
    )
    feedback(merchant_api, trained, first["sku"], "not_interested")
    after = dict(
        Recommendation.objects.filter(customer=trained, sku__in=same).values_list("sku", "score")
    )
    assert set(after) == set(before) - {first["sku"]}
    for sku, score in after.items():
        assert score == pytest.approx(before[sku] / 2)


def test_withdrawing_consent_removes_features_and_offers_at_once(
    merchant: Merchant, merchant_api: APIClient, trained: Customer
) -> None:
    Touchpoint.objects.create(
        merchant=merchant, customer=trained, kind="product_viewed", occurred_at=NOW
    )
    assert Recommendation.objects.filter(customer=trained).exists()
    consent(trained, granted=False)
    assert not Recommendation.objects.filter(customer=trained).exists()
    assert not Profile.objects.filter(customer=trained).exists()
    assert not Touchpoint.objects.filter(customer=trained).exists()
    answer = offers(merchant_api, trained)
    assert answer["personalised"] is False
    assert {o["reason"] for o in answer["offers"]} == {"popular"}
    # And the trainer leaves the customer out.
    offers_train(merchant=merchant, now=NOW)
    assert not Recommendation.objects.filter(customer=trained).exists()
    assert not Profile.objects.filter(customer=trained).exists()


def test_without_consent_popular_offers_per_channel(
    merchant_api: APIClient, trained: Customer, make_customer: Callable[..., Customer]
) -> None:
    stranger = make_customer("zed", consented=False)
    answer = offers(merchant_api, stranger, channel="web", limit=3)
    assert answer["personalised"] is False
    assert len(answer["offers"]) == 3
    assert not Recommendation.objects.filter(customer=stranger).exists()


def test_feedback_on_an_unknown_sku_is_404(merchant_api: APIClient, trained: Customer) -> None:
    response = feedback(merchant_api, trained, "NO-SUCH-SKU", "not_interested")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
    assert not Feedback.objects.exists()


def test_clicked_and_redeemed_are_recorded(merchant_api: APIClient, trained: Customer) -> None:
    sku = offers(merchant_api, trained)["offers"][0]["sku"]
    assert feedback(merchant_api, trained, sku, "clicked").status_code == 201
    assert feedback(merchant_api, trained, sku, "redeemed").status_code == 201
    assert feedback(merchant_api, trained, sku, "loved").status_code == 400
    assert Recommendation.objects.filter(customer=trained, sku=sku).exists()
    price = Product.objects.get(sku=sku).last_price
    assert price is not None
    assert price > Decimal(0)


def test_the_channel_asked_for_ranks_what_is_bought_there_first(
    merchant: Merchant, merchant_api: APIClient, make_customer: Callable[..., Customer]
) -> None:
    ann = make_customer("ann")
    for sku, channel in (("WEB-1", "web"), ("POS-1", "pos")):
        Product.objects.create(merchant=merchant, sku=sku, name=sku)
        Purchase.objects.create(
            merchant=merchant,
            customer=ann,
            sku=sku,
            quantity=1,
            occurred_at=NOW,
            channel=channel,
            order_ref=channel,
            line_key=sku,
        )
    offers_train(merchant=merchant, now=NOW)
    ranked = {
        channel: [offer["sku"] for offer in offers(merchant_api, ann, channel=channel)["offers"]]
        for channel in ("web", "pos")
    }
    assert ranked == {"web": ["WEB-1", "POS-1"], "pos": ["POS-1", "WEB-1"]}
    assert [o["sku"] for o in offers(merchant_api, ann)["offers"]] == ["POS-1", "WEB-1"]


def test_the_answer_is_what_the_output_serializer_renders(
    merchant_api: APIClient, trained: Customer, make_customer: Callable[..., Customer]
) -> None:
    """The view builds its answer without DRF's serializer (issue 16): same JSON, blanks and a
    missing price included."""
    first, second, *_ = offers_for(customer=trained)[1]
    Product.objects.filter(sku=first.sku).update(last_price=None)
    Product.objects.filter(sku=second.sku).delete()
    stranger = make_customer("zed", consented=False)
    for customer, channel in ((trained, ""), (trained, "web"), (stranger, "pos")):
        personalised, picked = offers_for(customer=customer, channel=channel, limit=20)
        expected = OffersOutput({"personalised": personalised, "offers": picked}).data
        answer = offers(merchant_api, customer, channel=channel, limit=20)
        assert answer == json.loads(json.dumps(expected))
    assert {o["sku"]: o["price"] for o in offers(merchant_api, trained, limit=20)["offers"]}[
        first.sku
    ] is None


def test_the_consent_read_in_sql_agrees_with_consent_allows(
    make_customer: Callable[..., Customer],
) -> None:
    """Never asked, granted, withdrawn, granted again, merged into a consenting survivor,
    erased: the offers query's consent check answers as `consent_allows` does."""
    purpose = ConsentPurpose.PERSONALISATION
    ann = make_customer("ann", consented=False)
    bob = make_customer("bob")
    seen = []

    def check(customer: Customer) -> None:
        customer.refresh_from_db()
        sql, params = consent_allows_sql(customer=customer, purpose=purpose)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {sql}", params)
            (allowed,) = cursor.fetchone()
        assert allowed is consent_allows(customer=customer, purpose=purpose)
        seen.append(allowed)

    check(ann)
    for granted in (True, False, True):
        consent(ann, granted=granted)
        check(ann)
    Customer.objects.filter(pk=ann.pk).update(merged_into=bob)
    consent(bob, granted=False)
    check(ann)
    consent(bob, granted=True)
    check(ann)
    Customer.objects.filter(pk=bob.pk).update(erased_at=timezone.now())
    check(bob)
    assert seen == [False, True, False, True, False, True, False]
