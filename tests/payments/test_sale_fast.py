"""The till's one-call sale (payments.services.sale_fast) against the general engine.

Differential: the same request, once on each path (`KASSA_POS_SALE_FAST` on and off) for twin
customers, leaves the same rows, column by column, and the same answer; the fast path's answer
is what `PaymentOutput` renders of the payment it wrote. Everything the fast path does not take
(refusals, replays, a card blocked between its read and its write) is answered by the engine,
exactly as with the fast path off.
"""

import json
import uuid
from dataclasses import dataclass
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
from rest_framework.renderers import JSONRenderer
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
from wallet.models import Entry, GiftCard, LedgerAccount, LoyaltyAccount, LoyaltyLot, Transfer
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


@dataclass(frozen=True)
class Sold:
    response: Any
    tried_fast: bool  # kassa_pos_sale was called
    wrote_fast: bool  # ... and the engine wrote no payment: the fast path made the sale


def _sell(client: APIClient, body: dict[str, Any], *, fast: bool, settings: Any, key=None) -> Sold:
    settings.KASSA_POS_SALE_FAST = fast
    with CaptureQueriesContext(connection) as queries:
        response = post(client, PAYMENTS, body, key=key)
    statements = [q["sql"] for q in queries.captured_queries]
    tried = any("kassa_pos_sale" in sql for sql in statements)
    engine_wrote = any('INSERT INTO "payments_payment"' in sql for sql in statements)
    return Sold(response, tried, tried and response.status_code == 201 and not engine_wrote)


def _role(account_id: int | None, twin: Twin) -> str | None:
    if account_id is None:
        return None
    if account_id == twin.gift_card.account_id:
        return "gift_card"
    if account_id == twin.loyalty.account_id:
        return "loyalty"
    account = LedgerAccount.objects.get(pk=account_id)
    assert account.is_system
    return f"system:{account.kind}:{account.unit}"


def _moment(value: Any, payment: Payment) -> Any:
    """A time the sale set: 'now' (within seconds of the payment's creation), else as is."""
    if value is not None and abs(value - payment.created_at) < timedelta(seconds=5):
        return "now"
    return value


def _rows(queryset: Any, payment: Payment, twin: Twin, **replace: Any) -> list[dict[str, Any]]:
    """Every column of every row, ids dropped, times made relative, the named columns
    replaced by what they stand for (`replace`: column -> function of its value)."""
    rows = []
    for values in queryset.values():
        row = {k: _moment(v, payment) if k.endswith("_at") else v for k, v in values.items()}
        row.pop("id")
        for column, stand_for in replace.items():
            row[column] = stand_for(row[column])
        rows.append(row)
    return rows


def _snapshot(payment_public_id: str, twin: Twin) -> dict[str, Any]:
    """Every column of every row the sale wrote, with what differs between twins by nature
    (ids, times, the customer's own instruments) replaced by what it stands for."""
    payment = Payment.objects.get(public_id=payment_public_id)
    tenders = {t.pk: t.sequence for t in payment.tenders.all()}
    references = {f"tender:{t.public_id}": f"tender {t.sequence}" for t in payment.tenders.all()}
    references[f"payment:{payment.public_id}"] = "payment"
    transfers = Transfer.objects.filter(reference__in=references).order_by("pk")
    codes = {t.pk: t.code for t in transfers}
    record = IdempotencyRecord.objects.filter(api_key=payment.api_key, key=payment.idempotency_key)
    gone = lambda _: "differs by nature"  # noqa: E731
    return {
        "payment": _rows(
            Payment.objects.filter(pk=payment.pk),
            payment,
            twin,
            public_id=gone,
            idempotency_key=gone,
            customer_id=lambda pk: pk == twin.customer.pk,
            loyalty_earn_transfer_id=lambda pk: codes.get(pk),
        ),
        "tenders": _rows(
            payment.tenders.order_by("sequence"),
            payment,
            twin,
            public_id=gone,
            payment_id=lambda pk: pk == payment.pk,
            wallet_transfer_id=lambda pk: codes.get(pk),
            gift_card_id=lambda pk: pk and pk == twin.gift_card.pk,
            loyalty_account_id=lambda pk: pk and pk == twin.loyalty.pk,
        ),
        "transfers": _rows(
            transfers,
            payment,
            twin,
            public_id=gone,
            debit_account_id=lambda pk: _role(pk, twin),
            credit_account_id=lambda pk: _role(pk, twin),
            reference=references.get,
        ),
        "entries": sorted(
            _rows(
                Entry.objects.filter(transfer__in=transfers),
                payment,
                twin,
                transfer_id=lambda pk: codes.get(pk),
                account_id=lambda pk: _role(pk, twin),
            ),
            key=str,
        ),
        "lots": _rows(
            LoyaltyLot.objects.filter(transfer__in=transfers),
            payment,
            twin,
            account_id=lambda pk: pk == twin.loyalty.pk,
            transfer_id=lambda pk: codes.get(pk),
            expires_at=lambda at: (
                at is not None and abs(at - payment.created_at - timedelta(days=365)) < timedelta(1)
            ),
        ),
        "events": _rows(
            PaymentEvent.objects.filter(payment=payment),
            payment,
            twin,
            payment_id=lambda pk: pk == payment.pk,
            tender_id=lambda pk: tenders.get(pk),
        ),
        "record": _rows(
            record,
            payment,
            twin,
            key=gone,
            request_fingerprint=gone,
            response_body=lambda body: _answer_without_ids(body),
        ),
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
    sold = _sell(shop.till_api, _sale(fast_twin, shape), fast=True, settings=settings)
    by_engine = _sell(shop.till_api, _sale(engine_twin, shape), fast=False, settings=settings)
    fast, engine = sold.response, by_engine.response
    assert fast.status_code == engine.status_code == 201, (fast.json(), engine.json())
    assert sold.wrote_fast
    assert not by_engine.tried_fast
    assert _answer_without_ids(fast.json()) == _answer_without_ids(engine.json())
    assert _snapshot(fast.json()["id"], fast_twin) == _snapshot(engine.json()["id"], engine_twin)
    invariants()


def test_the_fast_answer_is_the_payment_it_wrote_and_the_one_replayed(shop, settings) -> None:
    twin = Twin(shop)
    key = str(uuid.uuid4())
    body = _sale(twin, "card_points_cash")
    sold = _sell(shop.till_api, body, fast=True, settings=settings, key=key)
    first = sold.response
    assert first.status_code == 201
    assert sold.wrote_fast
    payment = Payment.objects.get(public_id=first.json()["id"])
    rendered = PaymentOutput(payment_detail(payment_id=payment.pk)).data
    assert first.json() == _json(rendered)
    retry = _sell(shop.till_api, body, fast=True, settings=settings, key=key).response
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Payment.objects.filter(customer=twin.customer).count() == 1
    other = {**body, "external_reference": "other"}
    reused = _sell(shop.till_api, other, fast=True, settings=settings, key=key).response
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


def _json(data: Any) -> Any:
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
        sold = _sell(shop.till_api, body, fast=fast, settings=settings)
        response = sold.response
        assert not sold.wrote_fast
        assert response.status_code == status, response.json()
        assert not Payment.objects.filter(customer=twin.customer).exists()
        answers.append(_placeholders(response.json(), twin))
    assert answers[0] == answers[1]
    assert code in {error["code"] for error in answers[0]["errors"]}


def _between_read_and_write(monkeypatch, then) -> None:
    """Run `then` once the fast path has read the wallet, before its write."""
    read = sale_reading.sale_read

    def read_then(*args, **kwargs):
        found = read(*args, **kwargs)
        then()
        return found

    monkeypatch.setattr(sale_reading, "sale_read", read_then)


CHANGES = {  # what changes between the fast path's read and its write -> the engine's answer
    "card_blocked": 422,
    "card_expired": 422,
    "card_spent": 402,
    "points_spent": 402,
    "loyalty_closed": 404,
    "loyalty_moved_away": 404,
    "older_loyalty_merged_in": 402,
    "merged": 404,
}


@pytest.mark.parametrize("what", sorted(CHANGES))
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
        elif what == "card_expired":
            GiftCard.objects.filter(pk=twin.gift_card.pk).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
        elif what == "points_spent":
            loyalty_points_adjust(
                account=twin.loyalty, points=-1900, reason="spent", actor="system:test"
            )
        elif what == "loyalty_closed":
            LoyaltyAccount.objects.filter(pk=twin.loyalty.pk).update(closed_at=timezone.now())
        elif what == "loyalty_moved_away":  # as an unmerge gives an account back
            LoyaltyAccount.objects.filter(pk=twin.loyalty.pk).update(customer=survivor)
        elif what == "older_loyalty_merged_in":  # as a merge brings the other's older account
            older = loyalty_account_open(programme=shop.loyalty.programme, customer=survivor)
            LoyaltyAccount.objects.filter(pk=older.pk).update(
                customer=twin.customer, created_at=twin.loyalty.created_at - timedelta(days=1)
            )
        else:
            Customer.objects.filter(pk=twin.customer.pk).update(merged_into=survivor)

    _between_read_and_write(monkeypatch, change)
    records = IdempotencyRecord.objects.count()
    sold = _sell(shop.till_api, _sale(twin, "card_points_cash"), fast=True, settings=settings)
    response = sold.response
    assert sold.tried_fast  # it tried, its write refused, the engine answered
    assert not sold.wrote_fast
    assert response.status_code == CHANGES[what], response.json()
    assert not Payment.objects.exists()
    assert IdempotencyRecord.objects.count() == records + 1  # the engine's, refused
    invariants()


def test_the_fast_path_can_be_turned_off(shop, settings) -> None:
    sold = _sell(shop.till_api, _sale(Twin(shop), "cash_only"), fast=False, settings=settings)
    assert sold.response.status_code == 201
    assert not sold.tried_fast


@pytest.mark.parametrize("shape", ["card_covers_cash_rest", "cash_only"])
def test_a_customer_without_a_loyalty_account_earns_nothing(shop, settings, shape) -> None:
    """No account to earn on; cash only: no ledger move at all."""
    twin = Twin(shop, points=0)
    LoyaltyAccount.objects.filter(pk=twin.loyalty.pk).update(closed_at=timezone.now())
    sold = _sell(shop.till_api, _sale(twin, shape), fast=True, settings=settings)
    assert sold.response.status_code == 201
    assert sold.wrote_fast
    assert sold.response.json()["points_earned"] == 0
    payment = Payment.objects.get(public_id=sold.response.json()["id"])
    assert payment.loyalty_earn_transfer_id is None


def test_a_card_that_expires_later_pays(shop, settings) -> None:
    twin = Twin(shop)
    GiftCard.objects.filter(pk=twin.gift_card.pk).update(
        expires_at=timezone.now() + timedelta(days=30)
    )
    sold = _sell(shop.till_api, _sale(twin, "card_points_cash"), fast=True, settings=settings)
    assert sold.response.status_code == 201
    assert sold.wrote_fast


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
        sold = _sell(shop.till_api, body, fast=fast, settings=settings)
        response = sold.response
        answer = response.json()
        assert sold.wrote_fast == (fast and response.status_code == 201)
        written = _snapshot(answer["id"], twin) if response.status_code == 201 else None
        outcomes.append((response.status_code, _placeholders(answer, twin), written))
        event(f"status {response.status_code}")
    assert outcomes[0] == outcomes[1]
