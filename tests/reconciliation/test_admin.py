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
from django.utils import timezone
from moneyed import Money
from openpyxl import load_workbook

from reconciliation import report
from reconciliation.models import Settlement, SettlementLine
from reconciliation.selectors import settlement_list
from reconciliation.services import settlement_compute
from tests.factories import MerchantFactory, StoreFactory, TerminalFactory
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


def _other_merchants_till(day: Day, name: str) -> list[Settlement]:
    """A second merchant whose store and till have the same codes as the shop's, taking EUR
    and GBP cash on the same day; a text field that a spreadsheet would run as a formula."""
    other = MerchantFactory.create(name=name)
    store = StoreFactory.create(merchant=other, code=day.shop.store.code)
    till = TerminalFactory.create(store=store, code="T1")
    rows = []
    for currency, amount in (("EUR", "4.00"), ("GBP", "7.00")):
        row = Settlement.objects.create(
            merchant=other,
            store=store,
            terminal=till,
            business_day=day.business_day,
            timezone="UTC",
            currency=currency,
            computed_at=timezone.now(),
            reason='=HYPERLINK("http://evil.example")',
        )
        SettlementLine.objects.create(
            settlement=row,
            method="cash",
            sales=Money(amount, currency),
            refunds=Money("0.00", currency),
            net=Money(amount, currency),
            sales_count=1,
        )
        rows.append(row)
    return rows


def test_merchants_and_currencies_are_never_mixed(day: Day, admin_client: Client) -> None:
    computed(day)
    _other_merchants_till(day, "Other shop")
    listed = list(settlement_list(merchant=None, day_from=day.business_day))
    days = [day.business_day]
    labels = [row.label for row in report.grid(listed, days)]
    mine = day.shop.merchant.name
    assert f"{mine} · AMS / T1 (EUR)" in labels
    assert {"Other shop · AMS / T1 (EUR)", "Other shop · AMS / T1 (GBP)"} <= set(labels)
    assert len(labels) == len(set(labels)) == 5  # the shop's T1, T2, web; the other's two

    mixes = report.tender_mix_charts(listed, days)
    assert [chart.currency for chart in mixes] == ["EUR", "GBP"]
    (gbp_bar,) = mixes[1].bars
    assert gbp_bar.title.endswith(": 7.00 GBP")
    assert mixes[1].top_label == "7.00 GBP"
    assert [chart.currency for chart in report.variance_charts(listed, days)] == ["EUR", "GBP"]
    page = admin_client.get(PAGE).content.decode()
    assert page.count('<svg role="img"') == 4  # mix and variances, in EUR and in GBP

    records = list(csv.DictReader(io.StringIO(report.export_csv(listed))))
    assert {r["merchant"] for r in records} == {mine, "Other shop"}


def test_exports_never_carry_a_formula(day: Day, admin_client: Client) -> None:
    computed(day)
    _other_merchants_till(day, "@SUM(1+1)")
    query = {"day_from": day.business_day.isoformat(), "day_to": day.business_day.isoformat()}
    text = admin_client.get(f"{PAGE}export.csv", query).content.decode()
    records = list(csv.DictReader(io.StringIO(text)))
    theirs = [r for r in records if r["merchant"] != day.shop.merchant.name]
    assert {r["merchant"] for r in theirs} == {"'@SUM(1+1)"}
    assert {r["reason"] for r in theirs} == {'\'=HYPERLINK("http://evil.example")'}
    t1 = next(r for r in records if r["till"] == "T1" and r["merchant"] == day.shop.merchant.name)
    assert t1["cash_variance"] == "-5.00"  # an amount stays a number

    book = load_workbook(io.BytesIO(admin_client.get(f"{PAGE}export.xlsx", query).content))
    sheet = book.active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert "'@SUM(1+1)" in {cell.value for cell in cells}
