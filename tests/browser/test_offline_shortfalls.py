"""The back office finds an offline gift card shortfall in the admin and writes it off with a
reason, in English and in French, axe-clean."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser

from merchants.models import ApiKey
from merchants.services import api_key_issue
from tests.factories import StoreFactory, TerminalFactory
from tills.demo import seed_demo
from tills.models import OfflineShortfall

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Axe()
SERIOUS = {"serious", "critical"}


@pytest.mark.parametrize(
    ("locale", "action_word", "amount", "confirm"),
    [("en-GB", "Go", "7.00", "Confirm"), ("fr-FR", "Envoyer", "7,00", "Confirmer")],
)
def test_the_back_office_writes_a_shortfall_off(
    live_server, browser: Browser, locale: str, action_word: str, amount: str, confirm: str
) -> None:
    store = StoreFactory.create()
    terminal = TerminalFactory.create(store=store, code="T1")
    api_key_issue(
        merchant=store.merchant, scope=ApiKey.Scope.TERMINAL, name="till", terminal=terminal
    )
    seed_demo(merchant=store.merchant, store=store)
    get_user_model().objects.create_superuser("backoffice", "bo@example.com", "s3cret-pass!")
    context = browser.new_context(locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/tills/offlineshortfall/")
    page.fill("#id_username", "backoffice")
    page.fill("#id_password", "s3cret-pass!")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    assert amount in page.inner_text("#result_list")
    results = AXE.run(page, context={"include": [["#content"]]})
    bad = [v["id"] for v in results.response["violations"] if v["impact"] in SERIOUS]
    assert bad == []
    page.check("input.action-select")
    page.select_option("select[name=action]", "write_off")
    page.click(f"button:has-text('{action_word}')")
    page.wait_for_selector("#id_reason")  # the confirmation: a reason is required
    results = AXE.run(page, context={"include": [["#content"]]})
    assert [v["id"] for v in results.response["violations"] if v["impact"] in SERIOUS] == []
    page.fill("#id_reason", "customer unreachable")
    page.click(f"input[type=submit][value={confirm}]")
    page.wait_for_selector("#result_list")
    context.close()
    shortfall = OfflineShortfall.objects.get()
    assert (shortfall.status, shortfall.resolution_reason) == (
        OfflineShortfall.Status.WRITTEN_OFF,
        "customer unreachable",
    )
