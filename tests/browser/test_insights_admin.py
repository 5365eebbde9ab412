"""The back office's insights pages in headless chromium, in English and in French (Django's
admin chrome is translated; the app's own labels are English, like every app's admin): the
segments with their rules and learned clusters, the profiles with the expected next purchase,
and a campaign's report against its holdout, each checked by axe-core."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page

from insights import demo
from insights.models import Campaign
from merchants.models import Merchant, Store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()
SERIOUS = {"serious", "critical"}
PASSWORD = "s3cret-pass!"


def check(page: Page, name: str) -> None:
    """axe-core on the page, but Django's own breadcrumbs (on change pages axe finds their
    links told apart from the text by colour only: Django's stylesheet, not this app's)."""
    page.wait_for_load_state("networkidle")
    results = AXE.run(page, context={"exclude": [[".breadcrumbs"]]})
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]
    assert bad == [], f"{name}: {bad}"


@pytest.mark.parametrize(
    ("locale", "save", "caption", "revenue"),
    [
        ("en-GB", "Save", "targeted against holdout", "revenue per customer (eur)"),
        (
            "fr-FR",
            "Enregistrer",
            "ciblés contre groupe témoin",
            "chiffre d'affaires par client (eur)",
        ),
    ],
    ids=["en", "fr"],
)
def test_segments_profiles_and_a_campaign_report_in_the_back_office(
    live_server, browser: Browser, locale: str, save: str, caption: str, revenue: str
) -> None:
    merchant = Merchant.objects.create(name="Demo Retail")
    store = Store.objects.create(merchant=merchant, code="AMS-01", name="Amsterdam Centrum")
    demo.seed_demo(merchant=merchant, store=store, customers=40)
    campaign = Campaign.objects.get(name=demo.CAMPAIGN)
    get_user_model().objects.create_superuser("backoffice", "bo@example.com", PASSWORD)
    context = browser.new_context(locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", "backoffice")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")

        page.goto(f"{live_server.url}/admin/insights/segment/")
        assert demo.SEGMENT in page.inner_text("#result_list")
        assert "Learned cluster 1" in page.inner_text("#result_list")
        assert "mostly " in page.inner_text("#result_list")
        check(page, f"segments-{locale}")

        page.goto(f"{live_server.url}/admin/insights/profile/")
        assert page.locator("#result_list tbody tr").count() > 0
        check(page, f"profiles-{locale}")

        page.goto(f"{live_server.url}/admin/insights/campaign/{campaign.pk}/change/")
        report = page.inner_text("#campaign-report").lower()
        assert caption in report
        assert revenue in report
        check(page, f"campaign-{locale}")

        page.goto(f"{live_server.url}/admin/insights/segment/add/")
        assert page.locator(f"input[type=submit][value='{save}']").count() == 1
        check(page, f"segment-add-{locale}")
    finally:
        context.close()
