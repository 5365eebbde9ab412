"""A drawer's shift: open with a float, sales and a refund, cash in and out, close and count."""

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from merchants.models import ApiKey
from merchants.services import api_key_issue
from payments.models import Payment, Tender
from tests.tills.conftest import Run, Till, configure
from tills.models import TillSession


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def post(api: APIClient, path: str, body: dict[str, Any]) -> Any:
    return api.post(f"/api/v1/{path}", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


@pytest.mark.django_db(transaction=True)
def test_a_shift_through_the_cli_expected_cash_variance_and_z_report(
    live_server, till: Till, run: Run
) -> None:
    configure(run, till, live_server.url)
    code, opened = run("session", "open", "100.00")
    assert code == 0
    code, r1 = run("sale", "--amount", "20.00", "--cash", "--reference", "R1")
    assert code == 0
    assert run("sale", "--amount", "15.00", "--external-card", "TRM-1", "--reference", "R2")[0] == 0
    split = ["--cash", "@10.00", "--external-card", "TRM-2@20.00", "--reference", "R3"]
    assert run("sale", "--amount", "30.00", *split)[0] == 0
    code, refund = run("refund", r1["sale"]["id"], "--amount", "5.00", "--reason", "broken")
    assert code == 0
    assert refund["refund"]["status"] == "succeeded"
    assert run("session", "cash-in", "50.00", "--reason", "change from the safe")[0] == 0
    assert run("session", "cash-out", "40.00", "--reason", "bank drop")[0] == 0

    code, closed = run("session", "close", "134.00")
    assert code == 0
    # 100 float + 20 + 10 cash sales - 5 cash refund + 50 in - 40 out
    assert closed["expected"] == eur("135.00")
    assert closed["counted"] == eur("134.00")
    assert closed["variance"] == eur("-1.00")
    assert closed["status"] == "closed"
    z = closed["z_report"]
    payments = Payment.objects.filter(terminal=till.terminal)
    assert Decimal(z["sales_total"]) == payments.aggregate(t=Sum("captured_amount"))["t"]
    for method in ("cash", "external_card"):
        tenders = Tender.objects.filter(payment__in=payments, method=method)
        assert (
            Decimal(z["sales_by_method"][method])
            == tenders.aggregate(t=Sum("captured_amount"))["t"]
        )
    assert z["sales_by_method"] == {"cash": "30.00", "external_card": "35.00"}
    assert (z["sales_count"], z["refunds_count"], z["offline_sales_count"]) == (3, 1, 0)
    assert z["refunds_by_method"] == {"cash": "5.00"}
    assert (z["cash_in"], z["cash_out"]) == ("50.00", "40.00")
    assert (z["first_receipt"], z["last_receipt"]) == ("R1", "R3")
    assert z["closed_by"] == f"api_key:{till.key.prefix}"
    assert TillSession.objects.get(public_id=opened["id"]).status == "closed"

    code, again = run("session", "close", "134.00")  # the till forgot its session: usage
    assert code == 2
    assert "No open session" in again["error"]
    assert run("session", "cash-in", "1.00", "--reason", "late")[0] == 2


@pytest.mark.django_db
def test_closing_twice_is_a_conflict(till: Till) -> None:
    session = post(till.api, "till-sessions", {"float": eur("50.00")}).json()
    first = post(till.api, f"till-sessions/{session['id']}/close", {"counted": eur("50.00")})
    assert first.status_code == 200
    assert first.json()["variance"] == eur("0.00")
    second = post(till.api, f"till-sessions/{session['id']}/close", {"counted": eur("50.00")})
    assert second.status_code == 409
    assert second.json()["code"] == "till_session_closed"


@pytest.mark.django_db
def test_a_second_open_session_on_one_terminal_is_a_conflict(till: Till) -> None:
    assert post(till.api, "till-sessions", {"float": eur("50.00")}).status_code == 201
    again = post(till.api, "till-sessions", {"float": eur("50.00")})
    assert again.status_code == 409
    assert again.json()["code"] == "till_session_already_open"


@pytest.mark.django_db
def test_cash_out_above_the_drawer_is_refused(till: Till) -> None:
    session = post(till.api, "till-sessions", {"float": eur("10.00")}).json()
    path = f"till-sessions/{session['id']}/cash"
    refused = post(till.api, path, {"direction": "out", "amount": eur("10.01"), "reason": "drop"})
    assert refused.status_code == 400
    assert refused.json()["code"] == "cash_out_exceeds_drawer"
    taken = post(till.api, path, {"direction": "out", "amount": eur("10.00"), "reason": "drop"})
    assert taken.status_code == 201


@pytest.mark.django_db
def test_a_variance_above_the_limit_needs_a_staff_key(till: Till, settings) -> None:
    settings.KASSA_TILL_VARIANCE_LIMIT = "2.00"
    session = post(till.api, "till-sessions", {"float": eur("50.00")}).json()
    path = f"till-sessions/{session['id']}/close"
    refused = post(till.api, path, {"counted": eur("47.50")})
    assert refused.status_code == 409
    assert refused.json()["code"] == "variance_needs_staff"
    assert refused.json()["meta"]["variance"] == "-2.50"
    not_staff = post(till.api, path, {"counted": eur("47.50"), "staff_key": "kassa_x_nope"})
    assert not_staff.status_code == 409
    staff, raw = api_key_issue(merchant=till.store.merchant, scope=ApiKey.Scope.STAFF, name="boss")
    accepted = post(till.api, path, {"counted": eur("47.50"), "staff_key": raw})
    assert accepted.status_code == 200
    assert accepted.json()["variance_accepted_by"] == f"api_key:{staff.prefix}"


@pytest.mark.django_db
def test_session_posts_need_an_idempotency_key(till: Till) -> None:
    answer = till.api.post("/api/v1/till-sessions", {"float": eur("5.00")}, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "idempotency_key_required"


@pytest.mark.django_db
def test_the_admin_shows_sessions_read_only(till: Till, admin_client) -> None:
    session = post(till.api, "till-sessions", {"float": eur("20.00")}).json()
    path = f"till-sessions/{session['id']}/cash"
    post(till.api, path, {"direction": "in", "amount": eur("5.00"), "reason": "coins"})
    listing = admin_client.get("/admin/tills/tillsession/")
    assert listing.status_code == 200
    assert session["id"] in listing.content.decode()
    pk = TillSession.objects.get().pk
    detail = admin_client.get(f"/admin/tills/tillsession/{pk}/change/")
    assert detail.status_code == 200
    assert "coins" in detail.content.decode()
    assert admin_client.get("/admin/tills/tillsession/add/").status_code == 403
