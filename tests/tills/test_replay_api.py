"""A replayed offline sale through the API: its own time, the flag, and what is refused."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from payments.models import Payment
from tests.tills.conftest import Till

pytestmark = pytest.mark.django_db


def sale(till: Till, **extra: Any) -> Any:
    body = {
        "amount": {"amount": "9.00", "currency": "EUR"},
        "tenders": [{"method": "cash"}],
        "capture": True,
        **extra,
    }
    return till.api.post(
        "/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )


def test_the_offline_policy_for_a_terminal_key(till: Till) -> None:
    answer = till.api.get("/api/v1/tills/offline-policy")
    assert answer.status_code == 200
    assert answer.json() == {
        "methods": ["cash", "external_card"],
        "max_sale": "200.00",
        "max_total": "1000.00",
        "max_age_hours": 72,
        "currencies": {},
        "allowances": [],
    }


def test_caps_per_currency(till: Till, settings) -> None:
    settings.KASSA_TILL_OFFLINE = {"currencies": {"JPY": {"max_sale": "20000"}}}
    policy = till.api.get("/api/v1/tills/offline-policy").json()
    assert policy["currencies"] == {"JPY": {"max_sale": "20000.00", "max_total": "1000.00"}}


def test_the_policy_comes_from_settings(till: Till, settings) -> None:
    settings.KASSA_TILL_OFFLINE = {"max_sale": "50.00", "max_age_hours": 24}
    policy = till.api.get("/api/v1/tills/offline-policy").json()
    assert (policy["max_sale"], policy["max_total"], policy["max_age_hours"]) == (
        "50.00",
        "1000.00",
        24,
    )


def test_a_replay_keeps_its_time_and_says_offline(till: Till) -> None:
    made = datetime.now(UTC) - timedelta(hours=3)
    answer = sale(till, offline=True, occurred_at=made.isoformat())
    assert answer.status_code == 201
    body = answer.json()
    assert (body["offline"], body["offline_late"]) == (True, False)
    assert datetime.fromisoformat(body["occurred_at"]) == made
    payment = Payment.objects.get()
    assert payment.created_at > made
    assert [e.type for e in payment.events.all()] == [
        "payment.captured",
        "payment.offline_replayed",
    ]


def test_a_replay_past_the_maximum_age_is_flagged_not_refused(till: Till) -> None:
    made = datetime.now(UTC) - timedelta(hours=73)
    answer = sale(till, offline=True, occurred_at=made.isoformat())
    assert answer.status_code == 201
    assert answer.json()["offline_late"] is True
    assert Payment.objects.get().events.filter(type="payment.offline_late").exists()


def test_an_online_sale_is_not_offline(till: Till) -> None:
    body = sale(till).json()
    assert (body["offline"], body["offline_late"], body["occurred_at"]) == (False, False, None)


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"offline": True}, "required"),
        (
            {"occurred_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            "occurred_in_future",
        ),
    ],
)
def test_an_offline_sale_needs_a_past_time(till: Till, extra: dict[str, Any], code: str) -> None:
    answer = sale(till, **extra)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert answer.json()["field"] == "occurred_at"
    assert not Payment.objects.exists()


def test_the_offline_policy_is_for_tills_only(till: Till, merchant_api) -> None:
    assert merchant_api.get("/api/v1/tills/offline-policy").status_code == 403
