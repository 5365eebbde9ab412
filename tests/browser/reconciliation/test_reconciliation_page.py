"""The reconciliation page in headless chromium, in English and French: the grid and charts
of a real day, a settlement's drill-down, a clerk reconciling till 1 (5.00 short) with a
reason. axe-core finds nothing serious on any page; screenshots go to the test's tmp dir."""

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page

from reconciliation.models import Settlement
from reconciliation.services import settlement_compute
from tests.reconciliation.conftest import Day, day_ended

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()
SERIOUS = {"serious", "critical"}
WORDS = {
    "en": ("Reconciliation", "Reconcile", "Reconciled with differences"),
    "fr": ("Rapprochement", "Rapprocher", "Rapproché avec écarts"),
}


def check(page: Page, name: str, shots: Path) -> None:
    page.wait_for_load_state("networkidle")
    results = AXE.run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]
    assert bad == [], f"{name}: {bad}"
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_clerk_reconciles_a_day_in_the_browser(
    live_server,
    browser: Browser,
    day: Day,
    tmp_path: Path,
    language: str,
) -> None:
    day = day_ended(day)  # a day is reconciled once it is over
    for store in (day.shop.store, None):
        settlement_compute(
            merchant=day.shop.merchant,
            store=store,
            business_day=day.business_day,
            match_stripe=False,
        )
    get_user_model().objects.create_superuser("clerk", "clerk@example.com", "s3cret-pass!")
    title, button, reconciled = WORDS[language]
    context = browser.new_context(locale=language, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/reconciliation/settlement/")
        page.fill("#id_username", "clerk")
        page.fill("#id_password", "s3cret-pass!")
        page.click("input[type=submit]")
        page.wait_for_selector("table.rc-grid")
        assert title in page.inner_text("h1")
        assert page.locator("svg[role=img]").count() == 2
        assert page.locator("svg rect").count() >= 6  # six methods sold that day
        check(page, f"{language}-grid", tmp_path)

        page.click("th:has-text('AMS / T1') ~ td.rc-cell a")
        page.wait_for_selector("#payments")
        assert "cash_variance" in page.inner_text("#content-main")
        check(page, f"{language}-settlement", tmp_path)
        page.fill("#id_reason", "Five euros short: counted again, coin missing")
        page.click(f"button[value=reconcile]:has-text('{button}')")
        page.wait_for_selector(".messagelist")
        assert reconciled in page.inner_text("#content-main")
        check(page, f"{language}-reconciled", tmp_path)
    finally:
        context.close()
    t1 = Settlement.objects.get(terminal__code="T1")
    assert (t1.status, t1.accepted_by) == ("reconciled_with_differences", "user:clerk")
    assert (tmp_path / f"{language}-grid.png").stat().st_size > 10_000
