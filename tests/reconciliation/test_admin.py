"""The reconciliation page in the admin: grid, charts, drill-down, exports parsed back, and a
clerk reconciling a day with differences (reason, CSRF, permission)."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from openpyxl import load_workbook

from reconciliation.models import Settlement
from reconciliation.services import settlement_compute
from tests.reconciliation.conftest import Day, day_ended

pytestmark = pytest.mark.django_db

PAGE = "/admin/reconciliation/settlement/"
PAYMENT_LINK = re.compile(r"/admin/payments/payment/[0-9]+/change/")


def computed(day: Day) -> dict[str, Settlement]:
    rows = []
    for store in (day.shop.store, None):
        rows += settlement_compute(
            merchant=day.shop.merchant,
            store=store,
            business_day=day.business_day,
            match_stripe=False,
        )
    return {row.till_label: row for row in rows}


@pytest.fixture
def admin_client(client: Client) -> Client:
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-12345!")
    client.force_login(user)
    return client


def clerk(perms: list[str]) -> Client:
    user = get_user_model().objects.create_user("clerk", "c@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_grid_charts_and_drill_down(day: Day, admin_client: Client) -> None:
    rows = computed(day)
    page = admin_client.get(PAGE).content.decode()
    assert "AMS / T1 (EUR)" in page
    assert "Web shop (EUR)" in page
    assert 'class="rc-cell rc-open"' in page
    assert page.count('<svg role="img"') == 2
    assert "<rect" in page
    detail = admin_client.get(f"{PAGE}{rows['T1'].pk}/change/").content.decode()
    assert "cash_variance" in detail
    assert len(PAYMENT_LINK.findall(detail)) == 2  # the till's two payments
    only_cash = admin_client.get(f"{PAGE}{rows['T1'].pk}/change/?method=cash").content.decode()
    assert len(PAYMENT_LINK.findall(only_cash)) == 1
    filtered = admin_client.get(PAGE, {"till": "T2"}).content.decode()
    assert "AMS / T2" in filtered
    assert "AMS / T1" not in filtered
    backwards = admin_client.get(PAGE, {"day_from": "2026-02-01", "day_to": "2026-01-01"})
    assert backwards.status_code == 200
    assert "errornote" in backwards.content.decode()


def test_csv_and_xlsx_exports_parse_back(day: Day, admin_client: Client) -> None:
    computed(day)
    query = {"day_from": day.business_day.isoformat(), "day_to": day.business_day.isoformat()}
    response = admin_client.get(f"{PAGE}export.csv", query)
    assert response["Content-Type"] == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    net = {(r["till"], r["method"]): Decimal(r["net"]) for r in table}
    assert net == {
        ("web", "card"): Decimal("15.00"),
        ("web", "gift_card"): Decimal("50.00"),
        ("web", "loyalty_points"): Decimal("5.00"),
        ("web", "voucher"): Decimal("10.00"),
        ("T1", "cash"): Decimal("30.00"),
        ("T1", "external_card"): Decimal("25.00"),
        ("T2", "cash"): Decimal("27.00"),
        ("T2", "external_card"): Decimal("3.00"),
    }
    t1 = next(r for r in table if r["till"] == "T1")
    assert (t1["cash_variance"], t1["differences"]) == ("-5.00", "cash_variance -5.00")

    response = admin_client.get(f"{PAGE}export.xlsx", query)
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header, *body = list(sheet.iter_rows(values_only=True))
    records = [dict(zip(header, values, strict=True)) for values in body]
    assert {(r["till"], r["method"]): Decimal(str(r["net"])) for r in records} == net
    assert all(r["business_day"].date() == day.business_day for r in records)
    assert admin_client.get(f"{PAGE}export.pdf").status_code == 403


def test_a_clerk_reconciles_a_day_with_differences_and_a_reason(day: Day) -> None:
    t1 = computed(day_ended(day))["T1"]
    viewer = clerk(["view_settlement"])
    assert viewer.get(PAGE).status_code == 200
    act = f"{PAGE}{t1.pk}/act/"
    page = viewer.get(f"{PAGE}{t1.pk}/change/")
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else ""
    assert "Reconcile" not in page.content.decode()
    assert viewer.post(act, {"action": "close", "csrfmiddlewaretoken": token}).status_code == 403

    get_user_model().objects.filter(username="clerk").delete()
    editor = clerk(["view_settlement", "change_settlement"])
    assert editor.post(act, {"action": "reconcile", "reason": "x"}).status_code == 403  # no CSRF
    page = editor.get(f"{PAGE}{t1.pk}/change/")
    token = page.context["csrf_token"]
    refused = editor.post(
        act, {"action": "reconcile", "reason": "", "csrfmiddlewaretoken": str(token)}
    )
    assert refused.status_code == 302, refused.content
    t1.refresh_from_db()
    assert t1.status == "open"  # differences need a reason
    assert "(settlement_reason_required)" in editor.get(f"{PAGE}{t1.pk}/change/").content.decode()
    editor.post(
        act,
        {"action": "reconcile", "reason": "Short 5.00: coin", "csrfmiddlewaretoken": str(token)},
    )
    t1.refresh_from_db()
    assert (t1.status, t1.accepted_by, t1.reason) == (
        "reconciled_with_differences",
        "user:clerk",
        "Short 5.00: coin",
    )
    assert "Reconcile</button>" not in editor.get(f"{PAGE}{t1.pk}/change/").content.decode()
