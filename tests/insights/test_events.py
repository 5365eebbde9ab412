"""Touchpoint events: consent decides whether an event is tied to the person or only counted."""

from collections.abc import Callable

from rest_framework.test import APIClient

from customers.models import Customer
from insights.models import EventCount, Touchpoint

AT = "2025-06-01T12:00:00Z"


def send(api: APIClient, *events: dict):
    return api.post("/api/v1/events", {"events": list(events)}, format="json")


def test_a_batch_over_the_limit_is_refused_whole(merchant_api: APIClient) -> None:
    event = {"kind": "product_viewed", "occurred_at": AT, "device_id": "d1", "sku": "MILK"}
    response = send(merchant_api, *[event] * 501)
    assert response.status_code == 400
    assert response.json()["code"] == "events_batch_too_large"
    assert response.json()["meta"] == {"maximum": 500}
    assert not Touchpoint.objects.exists()
    assert send(merchant_api, *[event] * 500).status_code == 202


def test_device_events_move_to_the_customer_when_the_device_identifies(
    merchant_api: APIClient, make_customer: Callable[..., Customer]
) -> None:
    ann = make_customer("ann")
    viewed = {"kind": "product_viewed", "occurred_at": AT, "device_id": "dev-1", "sku": "MILK"}
    assert send(merchant_api, viewed, viewed).json()["anonymous"] == 2
    assert Touchpoint.objects.filter(customer__isnull=True, device_id="dev-1").count() == 2

    login = {
        "kind": "search",
        "occurred_at": AT,
        "device_id": "dev-1",
        "identifiers": [{"kind": "pos_customer", "value": "ANN"}],
        "detail": "oat milk",
    }
    answer = send(merchant_api, login).json()
    assert answer == {"stored": 1, "counted": 0, "anonymous": 0, "stitched": 2}
    assert Touchpoint.objects.filter(customer=ann).count() == 3
    # Later events of the device alone are the customer's.
    send(merchant_api, viewed)
    assert Touchpoint.objects.filter(customer=ann).count() == 4
    assert not Touchpoint.objects.filter(customer__isnull=True).exists()


def test_events_before_consent_are_only_counted(
    merchant_api: APIClient, make_customer: Callable[..., Customer]
) -> None:
    bob = make_customer("bob", consented=False)
    seen = {"kind": "offer_shown", "occurred_at": AT, "customer": str(bob.public_id)}
    visit = {
        "kind": "store_visit",
        "occurred_at": AT,
        "device_id": "dev-2",
        "customer": str(bob.public_id),
    }
    answer = send(merchant_api, seen, seen, visit).json()
    assert answer == {"stored": 0, "counted": 3, "anonymous": 0, "stitched": 0}
    assert not Touchpoint.objects.exists()
    counts = dict(EventCount.objects.values_list("kind", "count"))
    assert counts == {"offer_shown": 2, "store_visit": 1}
    send(merchant_api, seen)
    assert EventCount.objects.get(kind="offer_shown").count == 3


def test_events_of_unknown_customers_stay_anonymous(merchant_api: APIClient) -> None:
    event = {
        "kind": "added_to_basket",
        "occurred_at": AT,
        "identifiers": [{"kind": "email", "value": "nobody@example.com"}],
        "sku": "MILK",
    }
    assert send(merchant_api, event).json()["anonymous"] == 1
    row = Touchpoint.objects.get()
    assert (row.customer_id, row.device_id) == (None, "")


def test_an_event_must_name_someone(merchant_api: APIClient) -> None:
    response = send(merchant_api, {"kind": "search", "occurred_at": AT})
    assert response.status_code == 400
