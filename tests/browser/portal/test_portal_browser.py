"""The portal in headless chromium: Ada signs in with the code from the outbox, reads her
wallet, claims a card, saves a bank card through Stripe.js against localstripe (then pays with
it through the API), toggles a consent, downloads her data; a new customer registers and asks
to be erased. Every page is checked by axe-core in English and in French."""

import json
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from moneyed import Money
from playwright.sync_api import Page

from customers.models import Channel, CustomerErasure, Identifier
from customers.policy import PresentedIdentifier
from customers.services import customer_identify
from merchants.models import Merchant, Store
from portal.demo import seed_demo as portal_seed
from wallet.demo import seed_demo as wallet_seed
from wallet.models import BankCard
from wallet.services import gift_card_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "portal"
AXE = Axe()
SERIOUS = {"serious", "critical"}


@pytest.fixture
def demo(settings):
    merchant = Merchant.objects.create(name="Demo Retail")
    store = Store.objects.create(merchant=merchant, code="AMS-01", name="Amsterdam Centrum")
    store.terminals.create(code="T1", name="Till 1")
    settings.KASSA_PORTAL_MERCHANT = merchant.name
    customer_identify(
        merchant=merchant,
        identifiers=[
            PresentedIdentifier("email", "ada@example.com", verified=True),
            PresentedIdentifier("phone", "+31612345678", verified=True),
        ],
        channel=Channel.WEB,
        first_name="Ada",
        last_name="Lovelace",
    )
    wallet_seed(merchant=merchant, store=store)
    portal_seed(merchant=merchant, store=store)
    return merchant


def code_for(to: str) -> str:
    message = [m for m in mail.outbox if to in m.to][-1]
    match = re.search(r"\b(\d{6})\b", str(message.body))
    assert match is not None
    return match.group(1)


def check(page: Page, name: str, checked: list[str]) -> None:
    """axe-core on the page (the localstripe stand-in card field is Stripe's, not ours)."""
    page.wait_for_load_state("networkidle")
    results = AXE.run(page, context={"exclude": [["#card-element"]]})
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]
    assert bad == [], f"{name}: {bad}"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    checked.append(name)


def set_language(page: Page, code: str) -> None:
    page.select_option("#language", code)
    page.click("form.lang button")
    page.wait_for_load_state("networkidle")


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/portal/sign-in/")
    page.fill("#id_contact", email)
    page.click("main button[type=submit]")
    page.wait_for_url("**/portal/code/")
    page.fill("#id_code", code_for(email))
    page.click("main button[type=submit]")
    page.wait_for_url("**/portal/wallet/")


def test_ada_uses_the_portal_in_english_and_french(live_server, page: Page, demo) -> None:
    url = live_server.url
    checked: list[str] = []
    page.goto(f"{url}/portal/sign-in/")
    check(page, "en-sign-in", checked)
    page.fill("#id_contact", "ada@example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/portal/code/")
    check(page, "en-code", checked)
    page.fill("#id_code", code_for("ada@example.com"))
    page.click("main button[type=submit]")
    page.wait_for_url("**/portal/wallet/")
    check(page, "en-wallet", checked)
    assert "Gift card" in page.inner_text("main")

    # Claim a gift card by code and PIN.
    issued = gift_card_issue(
        merchant=demo,
        initial_value=Money("12.00", "EUR"),
        pin="4321",
        actor="system:test",
    )
    page.click("text=Add a gift card")
    check(page, "en-claim", checked)
    assert issued.code is not None
    page.fill("#id_code", issued.code)
    page.fill("#id_pin", "4321")
    page.click("main button[type=submit]")
    page.wait_for_selector("table.history")
    check(page, "en-gift-card", checked)
    assert "Gift card issued" in page.inner_text("table.history")

    # Ada's older card: a purchase in the store, with its reason.
    page.goto(f"{url}/portal/wallet/")
    page.click(".card h3 a >> nth=0")
    page.wait_for_selector("table.history")
    history = page.inner_text("table.history")
    assert "Purchase at the online shop" in history or "Purchase at Amsterdam" in history
    page.goto(f"{url}/portal/wallet/")
    page.click("#loyalty ~ ul a")
    page.wait_for_selector("table.history")
    check(page, "en-loyalty", checked)
    assert "Points earned" in page.inner_text("table.history")

    # Save a bank card through Stripe.js (localstripe's stand-in) and a SetupIntent.
    page.goto(f"{url}/portal/wallet/cards/")
    page.wait_for_selector("#card-element input")
    check(page, "en-cards", checked)
    inputs = page.locator("#card-element input")
    for index, value in enumerate(["4242424242424242", "12", "34", "123", "1011"]):
        inputs.nth(index).fill(value)
    page.click("#card-form button[type=submit]")
    page.wait_for_selector(".message")
    assert "4242 saved" in page.inner_text(".message")
    card = BankCard.objects.get(customer__first_name="Ada", removed_at__isnull=True)

    page.goto(f"{url}/portal/purchases/")
    check(page, "en-purchases", checked)
    page.click(".card h2 a >> nth=0")
    page.wait_for_selector("article.receipt")
    check(page, "en-receipt", checked)

    page.goto(f"{url}/portal/privacy/")
    check(page, "en-privacy", checked)
    first = "#consents ~ ul li >> nth=0"
    assert "Not allowed" in page.inner_text(first)
    page.click("button[data-purpose=marketing_email]")
    page.wait_for_selector(".message")
    assert "Allowed —" in page.inner_text(first)
    page.click("button[data-purpose=marketing_email]")
    page.wait_for_selector(".message")
    assert "Not allowed" in page.inner_text(first)
    assert "withdrawn" in page.inner_text("#consent-history ~ table")
    with page.expect_download() as download:
        page.click("text=Download my data (JSON)")
    document = json.loads(Path(download.value.path()).read_text())
    customers = document["apps"]["customers"]
    assert {"ada@example.com", "+31612345678"} <= {i["value"] for i in customers["identifiers"]}
    email_consents = [e for e in customers["consent_events"] if e["purpose"] == "marketing_email"]
    assert [e["granted"] for e in email_consents[-2:]] == [True, False]
    page.goto(f"{url}/portal/privacy/erase/")
    check(page, "en-erase", checked)
    page.goto(f"{url}/portal/wallet/link-loyalty-card/")
    check(page, "en-link", checked)

    # Every page again in French.
    set_language(page, "fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    for path, name in [
        ("/portal/wallet/", "fr-wallet"),
        ("/portal/wallet/claim/", "fr-claim"),
        ("/portal/wallet/cards/", "fr-cards"),
        ("/portal/wallet/link-loyalty-card/", "fr-link"),
        ("/portal/purchases/", "fr-purchases"),
        ("/portal/privacy/", "fr-privacy"),
        ("/portal/privacy/erase/", "fr-erase"),
    ]:
        page.goto(f"{url}{path}")
        check(page, name, checked)
    assert "€" in page.content()
    page.goto(f"{url}/portal/purchases/")
    page.click(".card h2 a >> nth=0")
    check(page, "fr-receipt", checked)
    assert "Ticket" in page.inner_text("h1")
    page.goto(f"{url}/portal/wallet/")
    page.click(".card h3 a >> nth=0")
    check(page, "fr-gift-card", checked)
    page.goto(f"{url}/portal/wallet/")
    page.click("#loyalty ~ ul a")
    check(page, "fr-loyalty", checked)
    page.click("form.inline button.link")
    page.wait_for_url("**/portal/sign-in/")
    check(page, "fr-sign-in", checked)
    page.click("text=Créer un compte")
    check(page, "fr-register", checked)
    assert len(checked) == 24

    # The saved card pays through the API's saved-card tender.
    pay_with_saved_card(demo, card)


def pay_with_saved_card(merchant, card) -> None:
    from rest_framework.test import APIClient

    from merchants.models import ApiKey
    from merchants.services import api_key_issue

    _, raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post(
        "/api/v1/payments",
        {
            "amount": {"amount": "9.99", "currency": "EUR"},
            "customer": str(card.customer.public_id),
            "tenders": [{"method": "card", "bank_card": str(card.public_id)}],
            "capture": True,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="portal-saved-card",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "captured"


def test_a_new_customer_registers_then_asks_to_be_erased(live_server, page: Page, demo) -> None:
    url = live_server.url
    checked: list[str] = []
    page.goto(f"{url}/portal/register/")
    check(page, "en-register", checked)
    page.fill("#id_first_name", "Grace")
    page.fill("#id_email", "grace@example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/portal/code/")
    page.fill("#id_code", code_for("grace@example.com"))
    page.click("main button[type=submit]")
    page.wait_for_url("**/portal/wallet/")
    assert "Grace" in page.inner_text("h1")
    page.goto(f"{url}/portal/privacy/erase/")
    page.check("#id_confirm")
    page.click("main button.danger")
    page.wait_for_url("**/portal/erased/")
    check(page, "en-erased", checked)
    erasure = CustomerErasure.objects.get()
    assert erasure.status == CustomerErasure.Status.COMPLETED
    assert not Identifier.objects.filter(value="grace@example.com").exists()
    page.goto(f"{url}/portal/wallet/")
    page.wait_for_url("**/portal/sign-in/**")
    # Wrong codes in the browser: the lockout message after five.
    sign_in_attempts(page, url)
    set_language(page, "fr")
    page.goto(f"{url}/portal/erased/")
    check(page, "fr-erased", checked)
    page.goto(f"{url}/portal/code/")
    check(page, "fr-code", checked)


def sign_in_attempts(page: Page, url: str) -> None:
    page.goto(f"{url}/portal/sign-in/")
    page.fill("#id_contact", "ada@example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/portal/code/")
    good = code_for("ada@example.com")
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        page.fill("#id_code", wrong)
        page.click("main button[type=submit]")
        page.wait_for_selector(".errors")
    assert "locked for 15 minutes" in page.inner_text(".errors")
