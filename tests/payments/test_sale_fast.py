"""The till's one-call sale (payments.services.sale_fast) against the general engine.

Differential: the same request, once on each path (`KASSA_POS_SALE_FAST` on and off) for twin
customers, leaves the same rows, column by column, and the same answer; the fast path's answer
is what `PaymentOutput` renders of the payment it wrote. Everything the fast path does not take
(refusals, replays, a card blocked between its read and its write) is answered by the engine,
exactly as with the fast path off.
"""

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from moneyed import Money
from rest_framework.test import APIClient

from customers.models import Customer, Strength
from customers.services import customer_access_grant
from merchants.models import IdempotencyRecord
from payments.api.serializers import PaymentOutput
from payments.models import Payment, PaymentEvent
from payments.selectors import payment_detail
from payments.services.sale_fast import read as sale_reading
from tests.factories import CustomerFactory
from tests.payments.conftest import Shop, available, money
from tests.payments.test_flows import post
from tests.wallet.factories import issue_card
from wallet.models import Entry, GiftCard, LoyaltyAccount, LoyaltyLot, Transfer
from wallet.services import gift_card_hold, loyalty_account_open, loyalty_points_adjust

pytestmark = pytest.mark.django_db

PAYMENTS = "/api/v1/payments"


class Twin:
    """A customer with the shop customer's wallet: a 50.00 card, 2000 points, a wallet grant."""

    def __init__(self, shop: Shop, *, points: int = 2000, strength: Strength = Strength.WALLET):
        self.customer = CustomerFactory.create(merchant=shop.merchant)
        self.gift_card = issue_card(shop.merchant, "50.00", customer=self.customer).gift_card
        self.loyalty = loyalty_account_open(
            programme=shop.loyalty.programme, customer=self.customer
        )
        if points:
            loyalty_points_adjust(
                account=self.loyalty, points=points, reason="welcome bonus", actor="system:test"
            )
        customer_access_grant(api_key=shop.till_key, customer=self.customer, strength=strength)


def _sale(twin: Twin, shape: str) -> dict[str, Any]:
    card = str(twin.gift_card.public_id)
    bodies: dict[str, dict[str, Any]] = {
        "card_points_cash": {
            "amount": money("12.50"),
            "external_reference": "till-1",
            "basket": [
                {"sku": "A", "name": "Tea", "quantity": 2, "unit_price": money("3.25")},
                {"sku": "B", "quantity": 1, "unit_price": money("6.00")},
            ],
            "tenders": [
                {"method": "gift_card", "gift_card": card, "amount": money("5.00")},
                {"method": "loyalty_points", "points": 201},
                {"method": "cash"},
            ],
        },
        "card_covers_cash_rest": {
            "amount": money("60.00"),
            "tenders": [{"method": "cash"}, {"method": "gift_card", "gift_card": card}],
        },
        "points_by_amount_terminal": {
            "amount": money("9.99"),
            "tenders": [
                {"method": "external_card", "reference": "AUTH-77"},
                {"method": "loyalty_points", "amount": money("4.00")},
            ],
        },
        "cash_only": {"amount": money("0.99"), "tenders": [{"method": "cash"}]},
    }
    return {"customer": str(twin.customer.public_id), "capture": True, **bodies[shape]}


def _sell(client: APIClient, body: dict[str, Any], *, fast: bool, settings: Any, key=None):
    settings.KASSA_POS_SALE_FAST = fast
    with CaptureQueriesContext(connection) as queries:
        response = post(client, PAYMENTS, body, key=key)
    took_fast = any("kassa_pos_sale" in q["sql"] for q in queries.captured_queries)
    return response, took_fast


def _role(account_id: int, twin: Twin) -> str:
    if account_id == twin.gift_card.account_id:
        return "gift_card"
    if account_id == twin.loyalty.account_id:
        return "loyalty"
    from wallet.models import LedgerAccount

    account = LedgerAccount.objects.get(pk=account_id)
    assert account.is_system
    return f"system:{account.kind}:{account.unit}"


_PAYMENT_VARIES = {"id", "public_id", "idempotency_key", "customer_id", "loyalty_earn_transfer_id"}
_TIMES = {"created_at", "updated_at", "authorized_at", "captured_at", "expires_at"}


def _snapshot(payment_public_id: str, twin: Twin) -> dict[str, Any]:
    """Every row the sale wrote, with what differs between twins by nature (ids, times, the
    customer's own instruments) replaced by what it stands for."""
    payment = Payment.objects.get(public_id=payment_public_id)
    row: dict[str, Any] = dict(Payment.objects.filter(pk=payment.pk).values().get())
    for name in _TIMES:
        if row[name] is not None:
            assert abs(row[name] - payment.created_at) < timedelta(seconds=5), name
            row[name] = "set"
    tenders = []
    for values in payment.tenders.order_by("sequence").values():
        tender: dict[str, Any] = dict(values)
        transfer_id = tender.pop("wallet_transfer_id")
        tender["transfer_code"] = (
            Transfer.objects.get(pk=transfer_id).code if transfer_id is not None else None
        )
        tender["gift_card"] = tender.pop("gift_card_id") == twin.gift_card.pk or None
        tender["loyalty"] = tender.pop("loyalty_account_id") == twin.loyalty.pk or None
        for name in ("id", "public_id", "payment_id"):
            tender.pop(name)
        tenders.append(tender)
    references = [f"tender:{t.public_id}" for t in payment.tenders.all()]
    references.append(f"payment:{payment.public_id}")
    transfers = []
    for transfer in Transfer.objects.filter(reference__in=references).order_by("pk"):
        entries = sorted(
            (_role(e.account_id, twin), e.layer, e.side, e.amount)
            for e in Entry.objects.filter(transfer=transfer)
        )
        transfers.append(
            {
                "kind": transfer.kind,
                "code": transfer.code,
                "debit": _role(transfer.debit_account_id, twin),
                "credit": _role(transfer.credit_account_id, twin),
                "amount": transfer.amount,
                "unit": transfer.unit,
                "pending": transfer.pending_id,
                "reverses": transfer.reverses_id,
                "expires_at": transfer.expires_at,
                "reason": transfer.reason,
                "actor": transfer.actor,
                "same_moment": abs(transfer.created_at - payment.created_at) < timedelta(seconds=5),
                "entries": entries,
            }
        )
    lots = [
        {
            "account": lot.account_id == twin.loyalty.pk,
            "transfer_is_the_earn": lot.transfer_id == payment.loyalty_earn_transfer_id,
            "points": lot.points,
            "expires_in_a_year": lot.expires_at is not None
            and abs(lot.expires_at - payment.created_at - timedelta(days=365)) < timedelta(1),
        }
        for lot in LoyaltyLot.objects.filter(transfer_id=payment.loyalty_earn_transfer_id or 0)
    ]
    events = list(PaymentEvent.objects.filter(payment=payment).values("type", "actor", "data"))
    record = IdempotencyRecord.objects.get(api_key=payment.api_key, key=payment.idempotency_key)
    return {
        "payment": {k: v for k, v in row.items() if k not in _PAYMENT_VARIES},
        "earned_on_loyalty": payment.loyalty_earn_transfer_id is not None,
        "tenders": tenders,
        "transfers": transfers,
        "lots": lots,
        "events": events,
        "record": (record.status, record.response_status),
        "card_left": available(twin.gift_card),
        "points_left": available(twin.loyalty),
    }


def _answer_without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    varying = {"id", "customer", "created_at", "authorized_at", "captured_at"}
    return {
        **{k: v for k, v in answer.items() if k not in varying and k != "tenders"},
        "tenders": [
            {
                **{k: v for k, v in t.items() if k != "id"},
                "gift_card_last4": bool(t["gift_card_last4"]),
            }
            for t in answer["tenders"]
        ],
    }


@pytest.mark.parametrize(
    "shape",
    ["card_points_cash", "card_covers_cash_rest", "points_by_amount_terminal", "cash_only"],
)
def test_the_fast_sale_writes_what_the_engine_writes(shop, invariants, settings, shape) -> None:
    fast_twin, engine_twin = Twin(shop), Twin(shop)
    fast, took_fast = _sell(shop.till_api, _sale(fast_twin, shape), fast=True, settings=settings)
    engine, took_engine_fast = _sell(
        shop.till_api, _sale(engine_twin, shape), fast=False, settings=settings
    )
    assert fast.status_code == engine.status_code == 201, (fast.json(), engine.json())
    assert took_fast
    assert not took_engine_fast
    assert _answer_without_ids(fast.json()) == _answer_without_ids(engine.json())
    assert _snapshot(fast.json()["id"], fast_twin) == _snapshot(engine.json()["id"], engine_twin)
    invariants()


def test_the_fast_answer_is_the_payment_it_wrote_and_the_one_replayed(shop, settings) -> None:
    twin = Twin(shop)
    key = str(uuid.uuid4())
    body = _sale(twin, "card_points_cash")
    first, took_fast = _sell(shop.till_api, body, fast=True, settings=settings, key=key)
    assert first.status_code == 201
    assert took_fast
    payment = Payment.objects.get(public_id=first.json()["id"])
    rendered = PaymentOutput(payment_detail(payment_id=payment.pk)).data
    assert first.json() == _json(rendered)
    retry, _ = _sell(shop.till_api, body, fast=True, settings=settings, key=key)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Payment.objects.filter(customer=twin.customer).count() == 1
    reused, _ = _sell(
        shop.till_api,
        {**body, "external_reference": "other"},
        fast=True,
        settings=settings,
        key=key,
    )
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


def _json(data: Any) -> Any:
    import json

    from rest_framework.renderers import JSONRenderer

    return json.loads(JSONRenderer().render(data))


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("card_short", 402, "insufficient_funds"),
        ("points_short", 402, "insufficient_funds"),
        ("weak_grant", 403, "strong_presentation_required"),
        ("no_grant", 404, "customer_not_found"),
        ("card_blocked", 422, "instrument_blocked"),
        ("sum_mismatch", 422, "tender_sum_mismatch"),
    ],
)
def test_what_the_fast_path_refuses_the_engine_answers(shop, settings, change, status, code):
    """Answered by the engine, with the fast path on exactly as with it off."""
    answers = []
    for fast in (True, False):
        twin = Twin(shop, strength=Strength.LOYALTY if change == "weak_grant" else Strength.WALLET)
        body = _sale(twin, "card_points_cash")
        if change == "card_short":
            body["tenders"][0]["amount"] = money("50.01")
        elif change == "points_short":
            body["tenders"][1]["points"] = 2001
        elif change == "no_grant":
            twin.customer.access_grants.all().delete()
        elif change == "card_blocked":
            GiftCard.objects.filter(pk=twin.gift_card.pk).update(status=GiftCard.Status.BLOCKED)
        elif change == "sum_mismatch":
            body["tenders"][2] = {"method": "cash", "amount": money("1.00")}
        response, took_fast = _sell(shop.till_api, body, fast=fast, settings=settings)
        assert not took_fast or fast
        assert response.status_code == status, response.json()
        assert not Payment.objects.filter(customer=twin.customer).exists()
        answers.append(_answer_without_request(response.json(), twin))
    assert answers[0] == answers[1]
    assert answers[0]["code"] in (code, "payment_rejected")


def _answer_without_request(answer: dict[str, Any], twin: Twin) -> Any:
    text = str({k: v for k, v in answer.items() if k != "request_id"})
    return eval(text.replace(str(twin.customer.public_id), "C"))  # noqa: S307  (our own repr)


def _between_read_and_write(monkeypatch, then) -> None:
    """Run `then` once the fast path has read the wallet, before its write."""
    read = sale_reading.sale_read

    def read_then(*args, **kwargs):
        found = read(*args, **kwargs)
        then()
        return found

    monkeypatch.setattr(sale_reading, "sale_read", read_then)


@pytest.mark.parametrize("what", ["card_blocked", "card_spent", "points_spent", "merged"])
def test_a_change_under_the_lock_leaves_nothing_and_the_engine_answers(
    shop, settings, monkeypatch, invariants, what
) -> None:
    twin = Twin(shop)
    survivor = CustomerFactory.create(merchant=shop.merchant)

    def change() -> None:
        if what == "card_blocked":
            GiftCard.objects.filter(pk=twin.gift_card.pk).update(status=GiftCard.Status.BLOCKED)
        elif what == "card_spent":  # another till holds 49.00 of the 50.00
            gift_card_hold(
                gift_card=twin.gift_card,
                amount=Money(Decimal("49.00"), "EUR"),
                reference="another-till",
                expires_at=None,
                actor="system:test",
            )
        elif what == "points_spent":
            loyalty_points_adjust(
                account=twin.loyalty, points=-1900, reason="spent", actor="system:test"
            )
        else:
            Customer.objects.filter(pk=twin.customer.pk).update(merged_into=survivor)

    _between_read_and_write(monkeypatch, change)
    records = IdempotencyRecord.objects.count()
    response, took_fast = _sell(
        shop.till_api, _sale(twin, "card_points_cash"), fast=True, settings=settings
    )
    assert took_fast  # it tried, its write refused, the engine answered
    expected = {"card_blocked": 422, "card_spent": 402, "points_spent": 402, "merged": 404}
    assert response.status_code == expected[what], response.json()
    assert not Payment.objects.exists()
    assert IdempotencyRecord.objects.count() == records + 1  # the engine's, refused
    invariants()


def test_the_fast_path_can_be_turned_off(shop, settings) -> None:
    response, took_fast = _sell(
        shop.till_api, _sale(Twin(shop), "cash_only"), fast=False, settings=settings
    )
    assert response.status_code == 201
    assert not took_fast


def test_a_customer_without_a_loyalty_account_earns_nothing(shop, settings) -> None:
    twin = Twin(shop, points=0)
    LoyaltyAccount.objects.filter(pk=twin.loyalty.pk).update(closed_at=timezone.now())
    body = _sale(twin, "card_covers_cash_rest")
    response, took_fast = _sell(shop.till_api, body, fast=True, settings=settings)
    assert response.status_code == 201
    assert took_fast
    assert response.json()["points_earned"] == 0
    assert Payment.objects.get(public_id=response.json()["id"]).loyalty_earn_transfer_id is None


def _placeholders(answer: dict[str, Any], twin: Twin) -> Any:
    """The answer with what is the twin's own (ids, the card's last four) made alike."""
    text = json.dumps({k: v for k, v in answer.items() if k != "request_id"})
    for own, alike in (
        (str(twin.customer.public_id), "CUSTOMER"),
        (str(twin.gift_card.public_id), "CARD"),
        (twin.gift_card.code_last4, "LAST4"),
    ):
        text = text.replace(own, alike)
    found = json.loads(text)
    if "tenders" in found and "id" in found:
        return _answer_without_ids(found)
    return found


_cents = st.integers(min_value=1, max_value=9000).map(lambda c: Decimal(c) / 100)


@st.composite
def _till_sales(draw: st.DrawFn) -> tuple[Decimal, list[dict[str, Any]]]:
    """Any mix of a gift card, points and a remainder method, with or without amounts:
    payable or not, the fast path and the engine must agree."""
    tenders: list[dict[str, Any]] = []
    if draw(st.booleans()):
        card: dict[str, Any] = {"method": "gift_card"}
        if draw(st.booleans()):
            card["amount"] = draw(_cents)
        tenders.append(card)
    points = draw(st.sampled_from(["none", "points", "amount"]))
    if points == "points":
        tenders.append({"method": "loyalty_points", "points": draw(st.integers(1, 2200))})
    elif points == "amount":
        tenders.append({"method": "loyalty_points", "amount": draw(_cents)})
    remainder = draw(st.sampled_from(["none", "cash", "external_card"]))
    if remainder != "none":
        rest: dict[str, Any] = {"method": remainder}
        if remainder == "external_card":
            rest["reference"] = "AUTH-1"
        if draw(st.booleans()):
            rest["amount"] = draw(_cents)
        tenders.append(rest)
    if not tenders:
        tenders.append({"method": "cash"})
    return draw(_cents), draw(st.permutations(tenders))


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sale=_till_sales())
def test_any_till_sale_is_answered_and_written_alike_on_both_paths(shop, settings, sale) -> None:
    amount, tenders = sale
    outcomes = []
    for fast in (True, False):
        twin = Twin(shop)
        body = {
            "amount": money(str(amount)),
            "customer": str(twin.customer.public_id),
            "capture": True,
            "tenders": [
                {
                    **{k: money(str(v)) if k == "amount" else v for k, v in tender.items()},
                    **(
                        {"gift_card": str(twin.gift_card.public_id)}
                        if tender["method"] == "gift_card"
                        else {}
                    ),
                }
                for tender in tenders
            ],
        }
        response, _ = _sell(shop.till_api, body, fast=fast, settings=settings)
        answer = response.json()
        written = _snapshot(answer["id"], twin) if response.status_code == 201 else None
        outcomes.append((response.status_code, _placeholders(answer, twin), written))
        event(f"status {response.status_code}")
    assert outcomes[0] == outcomes[1]
