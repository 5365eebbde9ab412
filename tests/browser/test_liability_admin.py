"""Finance reads the stored-value liability of the demo merchant in the back office and exports
it as CSV, in English and in French (Django's admin, by the browser's language), axe-checked."""

import csv
import io
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page

from merchants.models import Merchant, Store
from wallet.demo import seed_demo
from wallet.models import LiabilitySnapshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "back_office"
SERIOUS = {"serious", "critical"}
PASSWORD = "s3cret-pass!"


def axe_clean(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    violations = Axe().run(page).response["violations"]
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3], v["nodes"][0]["html"][:200])
        for v in violations
        if v["impact"] in SERIOUS
    ]
    assert bad == [], f"{name}: {bad}"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def signed_in(browser: Browser, url: str, locale: str) -> Page:
    page = browser.new_context(locale=locale, accept_downloads=True).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{url}/admin/login/?next=/admin/wallet/liabilitysnapshot/")
    page.fill("#id_username", "finance")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/wallet/liabilitysnapshot/")
    return page


def test_finance_reads_and_exports_the_liability(live_server, browser: Browser) -> None:
    merchant = Merchant.objects.create(name="Demo Retail")
    store = Store.objects.create(merchant=merchant, code="AMS-01", name="Amsterdam Centrum")
    seed_demo(merchant=merchant, store=store)
    get_user_model().objects.create_superuser("finance", "finance@example.com", PASSWORD)
    today = LiabilitySnapshot.objects.filter(merchant=merchant).latest("day")

    for locale, lang, total in (("en-GB", "en", "65.00"), ("fr-FR", "fr", "65,00")):
        page = signed_in(browser, live_server.url, locale)
        assert page.locator("html").get_attribute("lang") == lang
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == LiabilitySnapshot.objects.filter(merchant=merchant).count()
        assert total in rows.first.inner_text()  # today: Ada's card 40.00 + walk-in 25.00
        axe_clean(page, f"liability-{lang}")

        page.check("#action-toggle")
        page.select_option("select[name=action]", "export_csv")
        with page.expect_download() as download:
            page.click("button[name=index]")
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        rows_csv = list(csv.DictReader(io.StringIO(exported)))
        latest = next(r for r in rows_csv if r["day"] == today.day.isoformat())
        assert latest["merchant"] == "Demo Retail"
        assert latest["gift_card_outstanding"] == str(today.gift_card_outstanding)
        assert latest["points_outstanding"] == "1250"
        page.context.close()
