"""GET /api/v1/settlements: staff keys only, filters, cursor pages, refusals."""

from datetime import date, timedelta

import pytest
from rest_framework.test import APIClient

from merchants.models import Merchant
from payments.models import Tender
from reconciliation.models import Settlement
from reconciliation.services import settlement_compute
from tests.factories import StoreFactory, TerminalFactory
from tests.reconciliation.conftest import Day

pytestmark = pytest.mark.django_db

URL = "/api/v1/settlements"


def computed(day: Day) -> None:
    for store in (day.shop.store, None):
        settlement_compute(
            merchant=day.shop.merchant,
            store=store,
            business_day=day.business_day,
            match_stripe=False,
        )


def test_staff_reads_the_day_per_till_and_method(day: Day) -> None:
    computed(day)
    response = day.staff_api.get(URL, {"store": day.shop.store.code, "till": "T1"})
    assert response.status_code == 200, response.json()
    (row,) = response.json()["results"]
    assert (row["store"], row["till"], row["status"]) == (day.shop.store.code, "T1", "open")
    assert row["business_day"] == day.business_day.isoformat()
    assert {line["method"]: line["net"]["amount"] for line in row["lines"]} == {
        "cash": "30.00",
        "external_card": "25.00",
    }
    assert row["cash"]["variance"] == {"amount": "-5.00", "currency": "EUR"}
    assert row["differences"][0]["code"] == "cash_variance"

    web = day.staff_api.get(URL, {"channel": "web", "method": "card"}).json()["results"]
    assert [(r["store"], r["till"]) for r in web] == [(None, None)]
    assert [(line["method"], line["net"]["amount"]) for line in web[0]["lines"]] == [
        ("card", "15.00")
    ]
    assert len(day.staff_api.get(URL).json()["results"]) == 3


def test_other_keys_are_refused(day: Day) -> None:
    assert day.shop.web.get(URL).status_code == 403
    assert day.shop.till_api.get(URL).status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)


def test_bad_input(day: Day) -> None:
    unknown = day.staff_api.get(URL, {"store": "NOPE"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "store_not_found")
    no_till = day.staff_api.get(URL, {"store": day.shop.store.code, "till": "T7"})
    assert (no_till.status_code, no_till.json()["code"]) == (404, "till_not_found")
    assert day.staff_api.get(URL, {"till": "T7"}).status_code == 404
    assert day.staff_api.get(URL, {"till": "T2"}).status_code == 200
    other = StoreFactory.create(merchant=Merchant.objects.create(name="Other"), code="OTH")
    assert day.staff_api.get(URL, {"store": other.code}).status_code == 404
    backwards = day.staff_api.get(URL, {"from": "2026-02-01", "to": "2026-01-01"})
    assert (backwards.status_code, backwards.json()["code"]) == (400, "invalid_date_range")
    assert day.staff_api.get(URL, {"from": "yesterday"}).status_code == 400
    assert day.staff_api.get(URL, {"method": "cheque"}).status_code == 400


def test_a_ten_year_range_is_paginated(day: Day) -> None:
    terminal = TerminalFactory.create(store=day.shop.store, code="T9")
    first = date(2016, 1, 1)
    Settlement.objects.bulk_create(
        Settlement(
            merchant=day.shop.merchant,
            store=day.shop.store,
            terminal=terminal,
            business_day=first + timedelta(days=n),
            timezone="UTC",
            currency="EUR",
            computed_at="2026-01-01T00:00:00Z",
        )
        for n in range(3700)
    )
    query = {"from": "2016-01-01", "to": "2026-12-31", "page_size": "100"}
    page = day.staff_api.get(URL, query).json()
    days = [row["business_day"] for row in page["results"]]
    assert len(days) == 100
    assert days == sorted(days, reverse=True)
    seen = set(days)
    for _ in range(3):
        page = day.staff_api.get(page["next"]).json()
        seen.update(row["business_day"] for row in page["results"])
    assert len(seen) == 400


def test_a_card_tender_stripe_never_booked_is_named_by_its_public_id(day: Day) -> None:
    card = Tender.objects.get(payment__public_id=day.web_sale["id"], method="card")
    Tender.objects.filter(pk=card.pk).update(
        stripe_charge_id="ch_unknown", stripe_payment_intent_id="pi_unknown"
    )
    settlement_compute(merchant=day.shop.merchant, store=None, business_day=day.business_day)
    (web,) = day.staff_api.get(URL, {"channel": "web"}).json()["results"]
    assert web["card"]["unmatched"]["kassa"] == [str(card.public_id)]
