"""A business day of mixed sales: the web shop (voucher, gift card, points, saved card and a
partial refund) and two tills in one store (cash, external card, an offline sale, a refund
to the external card),
each till's drawer counted at close; till 1 is 5.00 short."""

import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from merchants.models import ApiKey, Terminal
from merchants.services import api_key_issue
from payments.models import Payment, Refund
from reconciliation.selectors import local_day
from tests.factories import TerminalFactory
from tests.payments.conftest import Shop, eur, money, shop  # noqa: F401 (the shop fixture)
from tills.models import TillSession

__all__ = ["Day", "day_ended", "eur", "money", "post"]


def post(client: APIClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(
        f"/api/v1/{path}", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert response.status_code in (200, 201), response.json()
    return response.json()


@dataclass
class Day:
    shop: Shop
    till2: Terminal
    till2_api: APIClient
    staff_api: APIClient
    staff_raw: str
    business_day: date
    web_sale: dict[str, Any]
    till1_session: dict[str, Any]
    till2_session: dict[str, Any]


def _client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def day(shop: Shop, settings) -> Day:  # noqa: F811
    # The web shop and the store read their business day in UTC here, so that a test run
    # near midnight in Amsterdam does not straddle two days.
    settings.KASSA_WEB_TIMEZONE = "UTC"
    shop.store.timezone = "UTC"
    shop.store.save()
    till2 = TerminalFactory.create(store=shop.store, code="T2")
    _, till2_raw = api_key_issue(
        merchant=shop.merchant, scope=ApiKey.Scope.TERMINAL, name="till 2", terminal=till2
    )
    till2_api = _client(till2_raw)
    _, staff_raw = api_key_issue(merchant=shop.merchant, scope=ApiKey.Scope.STAFF, name="office")

    # Both drawers open first: the offline sale below was made a moment ago, within the shift.
    till2_session = post(till2_api, "till-sessions", {"float": money("50.00")})
    web_sale = post(
        shop.web,
        "payments",
        {
            "amount": money("100.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {"method": "card", "bank_card": str(shop.bank_card.public_id)},
                {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
                {"method": "loyalty_points", "points": 500},
                {"method": "voucher", "code": shop.voucher_code},
            ],
            "capture": True,
        },
    )
    post(shop.web, f"payments/{web_sale['id']}/refunds", {"amount": money("20.00")})

    till1 = post(shop.till_api, "till-sessions", {"float": money("100.00")})
    post(
        shop.till_api,
        "payments",
        {"amount": money("30.00"), "tenders": [{"method": "cash"}], "capture": True},
    )
    post(
        shop.till_api,
        "payments",
        {
            "amount": money("25.00"),
            "tenders": [{"method": "external_card", "reference": "TRM-1"}],
            "capture": True,
        },
    )
    # 100 float + 30 cash = 130 expected; 125 counted.
    till1 = post(
        shop.till_api,
        f"till-sessions/{till1['id']}/close",
        {"counted": money("125.00"), "external_card_declared": money("25.00")},
    )

    split = post(
        till2_api,
        "payments",
        {
            "amount": money("20.00"),
            "tenders": [
                {"method": "cash", "amount": money("12.00")},
                {"method": "external_card", "reference": "TRM-2", "amount": money("8.00")},
            ],
            "capture": True,
        },
    )
    post(
        till2_api,
        "payments",
        {
            "amount": money("15.00"),
            "tenders": [{"method": "cash"}],
            "capture": True,
            "offline": True,
            "occurred_at": timezone.now().isoformat(),
        },
    )
    post(till2_api, f"payments/{split['id']}/refunds", {"amount": money("5.00")})
    # The refund goes back in reverse order: to the external card. 50 + 12 + 15 cash = 77.
    till2_session = post(
        till2_api,
        f"till-sessions/{till2_session['id']}/close",
        {"counted": money("77.00"), "external_card_declared": money("3.00")},
    )
    return Day(
        shop=shop,
        till2=till2,
        till2_api=till2_api,
        staff_api=_client(staff_raw),
        staff_raw=staff_raw,
        business_day=local_day(timezone.now(), "UTC"),
        web_sale=web_sale,
        till1_session=till1,
        till2_session=till2_session,
    )


def day_ended(day: Day) -> Day:
    """The same day moved back by one day, so that it has ended: a day is reconciled only once
    computed after its end. Its payments, refunds and drawer sessions are back-dated."""
    shift = timedelta(days=1)
    merchant = day.shop.merchant
    Payment.objects.filter(merchant=merchant).update(
        created_at=F("created_at") - shift,
        captured_at=F("captured_at") - shift,
        occurred_at=F("occurred_at") - shift,
    )
    Refund.objects.filter(payment__merchant=merchant).update(
        created_at=F("created_at") - shift, completed_at=F("completed_at") - shift
    )
    TillSession.objects.filter(terminal__store__merchant=merchant).update(
        opened_at=F("opened_at") - shift, closed_at=F("closed_at") - shift
    )
    return replace(day, business_day=day.business_day - shift)
