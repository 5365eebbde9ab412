"""What one checkout is in each scenario: the requests, and the outcome that counts as done.

The same definition drives the HTTP load (`checkout_over_http`) and the in-process runs that
count SQL statements and profile (`checkout_in_process`), so both measure the same work.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import Client

from bench.driver import Checkout, CheckoutFailed, Session
from bench.seed import CURRENCY, GIFT_CARD_PIN, Fixture

PAYMENTS = "/api/v1/payments"
REFERENCE = "/bench/reference/checkout"


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": CURRENCY}


@dataclass(frozen=True)
class Step:
    path: str
    body: dict[str, Any]
    key: str | None
    idempotent: bool = True


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    first: Callable[[Fixture, int, int], Step]
    capture_after: bool = False  # a second request captures what the first authorised
    final_status: str | None = "captured"
    expected_errors: frozenset[str] = frozenset()


def _reference(fixture: Fixture, client: int, n: int) -> Step:
    debit, credit = fixture.clients[client].reference_accounts
    body = {
        "debit": debit,
        "credit": credit,
        "amount": "12.50",
        "currency": CURRENCY,
        "reference": f"r2-{client}-{n}",
    }
    return Step(REFERENCE, body, key=None, idempotent=False)


def _basket(amount: str) -> list[dict[str, Any]]:
    return [{"sku": "SKU-1", "name": "Bench item", "quantity": 1, "unit_price": _money(amount)}]


def _till_sale(fixture: Fixture, client: int, n: int, *, by_code: bool) -> Step:
    """12.50: 5.00 from the gift card, 200 points (2.00), the rest (5.50) in cash."""
    own = fixture.clients[client]
    wallet = own.wallets[n % len(own.wallets)]
    gift_card = (
        {"code": wallet.gift_card_code, "pin": GIFT_CARD_PIN}
        if by_code
        else {"gift_card": wallet.gift_card}
    )
    body = {
        "amount": _money("12.50"),
        "customer": wallet.customer,
        "external_reference": f"till-{client}-{n}",
        "basket": _basket("12.50"),
        "tenders": [
            {"method": "gift_card", **gift_card, "amount": _money("5.00")},
            {"method": "loyalty_points", "points": 200},
            {"method": "cash"},
        ],
        "capture": True,
    }
    return Step(PAYMENTS, body, key=own.till_key)


def _web_sale(fixture: Fixture, client: int, n: int) -> Step:
    """30.00: the customer's 5.00 voucher, 10.00 from the gift card, 15.00 on the saved card."""
    wallet = fixture.clients[client].wallets[n % len(fixture.clients[client].wallets)]
    body = {
        "amount": _money("30.00"),
        "customer": wallet.customer,
        "external_reference": f"web-{client}-{n}",
        "basket": _basket("30.00"),
        "tenders": [
            {"method": "voucher", "code": wallet.voucher_code},
            {"method": "gift_card", "gift_card": wallet.gift_card, "amount": _money("10.00")},
            {"method": "card", "bank_card": wallet.bank_card},
        ],
        "capture": False,
    }
    return Step(PAYMENTS, body, key=fixture.web_key)


def _hot_card(fixture: Fixture, client: int, n: int) -> Step:
    """Every till charges 1.00 to the same gift card."""
    body = {
        "amount": _money("1.00"),
        "customer": fixture.hot.customer,
        "external_reference": f"hot-{client}-{n}",
        "tenders": [{"method": "gift_card", "gift_card": fixture.hot.gift_card}],
        "capture": True,
    }
    return Step(PAYMENTS, body, key=fixture.clients[client].till_key)


REFERENCE_R2 = Scenario(
    "R2", "minimal Django+DRF checkout (2 locks, 3 rows)", _reference, final_status=None
)
TILL_SALE = Scenario(
    "S1",
    "till: gift card + points + cash, captured at once",
    lambda f, c, n: _till_sale(f, c, n, by_code=False),
)
TILL_SALE_BY_CODE = Scenario(
    "S1b",
    "S1 with the gift card by code + PIN",
    lambda f, c, n: _till_sale(f, c, n, by_code=True),
)
WEB_SALE = Scenario(
    "S2",
    "web: voucher + gift card + saved card, authorise then capture",
    _web_sale,
    capture_after=True,
)
HOT_CARD = Scenario(
    "S3",
    "hot instrument: every till spends one gift card",
    _hot_card,
    expected_errors=frozenset({"insufficient_funds"}),
)
SCENARIOS = [TILL_SALE, TILL_SALE_BY_CODE, WEB_SALE, HOT_CARD]


def _check_final(scenario: Scenario, body: dict[str, Any]) -> None:
    if scenario.final_status and body.get("status") != scenario.final_status:
        raise CheckoutFailed(f"status_{body.get('status')}", 200)


def checkout_over_http(scenario: Scenario, fixture: Fixture) -> Checkout:
    async def checkout(session: Session, n: int) -> None:
        step = scenario.first(fixture, session.index, n)
        body = await session.post(step.path, step.body, key=step.key, idempotent=step.idempotent)
        if scenario.capture_after:
            body = await session.post(f"{PAYMENTS}/{body['id']}/capture", {}, key=step.key)
        _check_final(scenario, body)

    return checkout


def checkout_in_process(scenario: Scenario, fixture: Fixture, client: Client, n: int) -> None:
    """One checkout through Django's test client (same settings, same database)."""

    def post(path: str, body: dict[str, Any], key: str | None, idempotent: bool) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if idempotent:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        response = client.post(
            path, data=json.dumps(body), content_type="application/json", headers=headers
        )
        if response.status_code >= 300:
            raise CheckoutFailed(response.json().get("code", "error"), response.status_code)
        return response.json()

    step = scenario.first(fixture, 0, n)
    body = post(step.path, step.body, step.key, step.idempotent)
    if scenario.capture_after:
        body = post(f"{PAYMENTS}/{body['id']}/capture", {}, step.key, True)
    _check_final(scenario, body)
