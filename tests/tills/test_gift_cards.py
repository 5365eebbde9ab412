"""Gift cards at the till: sold and reloaded as basket lines of a payment, issued once the
payment is captured (once, whatever is retried), the code shown once; what a till key still
may not do with gift cards."""

import io
import uuid
from contextlib import redirect_stdout
from decimal import Decimal
from typing import Any

import pytest
from moneyed import Money

from config.actors import system_actor
from payments.models import Payment
from payments.services import capture as capture_service
from payments.services.gift_card_lines import payment_gift_cards_fulfil
from payments.services.recovery import payment_recover
from payments.till_cli import REFUSED_BY_SERVER, main
from tests.tills.conftest import Run, Till, configure
from tests.wallet.factories import issue_card
from wallet.models import GiftCard, Transfer
from wallet.services import gift_card_block

pytestmark = pytest.mark.django_db
EUR = "EUR"


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": EUR}


def gift_line(amount: str, **extra: Any) -> dict[str, Any]:
    return {"sku": "GC", "quantity": 1, "unit_price": eur(amount), "kind": "gift_card", **extra}


def pay(till: Till, basket: list[dict[str, Any]], *, key: str | None = None, **extra: Any) -> Any:
    total = sum(Decimal(line["unit_price"]["amount"]) * line["quantity"] for line in basket)
    body = {
        "amount": eur(str(total)),
        "tenders": [{"method": "cash"}],
        "capture": True,
        "basket": basket,
        **extra,
    }
    return till.api.post(
        "/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4())
    )


def test_a_till_sells_a_card_issued_at_capture_and_its_code_shown_once(till: Till) -> None:
    key = str(uuid.uuid4())
    basket = [gift_line("25.00"), {"sku": "MUG", "quantity": 2, "unit_price": eur("5.00")}]
    first = pay(till, basket, key=key)
    assert first.status_code == 201, first.json()
    [line] = first.json()["gift_cards"]
    assert (line["line"], line["kind"], line["amount"], line["code_shown"]) == (
        0,
        "gift_card",
        eur("25.00"),
        True,
    )
    card = GiftCard.objects.get()
    assert (card.status, card.account.available, str(card.public_id)) == (
        GiftCard.Status.ACTIVE,
        Decimal("25.00"),
        line["gift_card"],
    )
    assert line["code"].replace("-", "").endswith(card.code_last4)
    balance = till.api.post("/api/v1/gift-cards/balance", {"code": line["code"]}, format="json")
    assert balance.json()["available"] == eur("25.00")

    again = pay(till, basket, key=key)
    assert again.status_code == 201
    assert again.json()["gift_cards"] == [{**line, "code": None, "code_shown": False}]
    detail = till.api.get(f"/api/v1/payments/{first.json()['id']}").json()
    assert detail["gift_cards"][0]["code"] is None
    assert GiftCard.objects.count() == 1


def test_a_card_sold_in_a_held_payment_is_issued_by_its_capture_only(till: Till) -> None:
    held = pay(till, [gift_line("40.00")], capture=False)
    assert held.status_code == 201
    assert held.json()["status"] == "authorized"
    assert held.json()["gift_cards"][0]["gift_card"] is None
    assert not GiftCard.objects.exists()
    payment_id = held.json()["id"]
    part = till.api.post(
        f"/api/v1/payments/{payment_id}/capture",
        {"amount": eur("20.00")},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert (part.status_code, part.json()["code"]) == (422, "gift_card_line_refused")

    captured = till.api.post(
        f"/api/v1/payments/{payment_id}/capture",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert captured.status_code == 200, captured.json()
    [line] = captured.json()["gift_cards"]
    assert line["code_shown"] is True
    # A second capture (another key) and the recovery's re-run find the first card.
    twice = till.api.post(
        f"/api/v1/payments/{payment_id}/capture",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert twice.json()["gift_cards"][0]["code"] is None
    payment = Payment.objects.get(public_id=payment_id)
    [rerun] = payment_gift_cards_fulfil(payment=payment, actor=system_actor("recovery"))
    assert (rerun.code, str(rerun.gift_card.public_id)) == (None, line["gift_card"])
    assert GiftCard.objects.count() == 1
    assert Transfer.objects.filter(code=Transfer.Code.ISSUE).count() == 1


def test_a_voided_payment_issues_nothing(till: Till) -> None:
    held = pay(till, [gift_line("40.00")], capture=False)
    voided = till.api.post(
        f"/api/v1/payments/{held.json()['id']}/void",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert voided.json()["status"] == "voided"
    assert not GiftCard.objects.exists()


def test_a_till_reloads_a_card_once_per_idempotency_key(till: Till) -> None:
    card = issue_card(till.store.merchant, "10.00").gift_card
    line = {**gift_line("15.00"), "kind": "gift_card_reload", "gift_card": str(card.public_id)}
    key = str(uuid.uuid4())
    for _ in range(2):
        answer = pay(till, [line], key=key)
        assert answer.status_code == 201, answer.json()
        assert answer.json()["gift_cards"][0]["code"] is None
    card.account.refresh_from_db()
    assert card.account.available == Decimal("25.00")
    assert Transfer.objects.filter(code=Transfer.Code.RELOAD).count() == 1


def test_a_reload_of_a_card_that_cannot_take_it_takes_no_money(till: Till, merchant) -> None:
    other = issue_card(merchant, "5.00", currency="USD").gift_card
    blocked = issue_card(merchant, "5.00").gift_card
    gift_card_block(gift_card=blocked, reason="lost", actor=system_actor("test"))
    for card, status, code in (
        (uuid.uuid4(), 422, "gift_card_line_refused"),
        (other.public_id, 422, "gift_card_line_refused"),
        (blocked.public_id, 422, "instrument_blocked"),
    ):
        line = {**gift_line("15.00"), "kind": "gift_card_reload", "gift_card": str(card)}
        answer = pay(till, [line])
        assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "line",
    [
        {**gift_line("10.00"), "quantity": 2, "unit_price": eur("5.00")},
        {**gift_line("0.00")},
        {**gift_line("10.00"), "gift_card": str(uuid.uuid4())},
        {**gift_line("10.00"), "kind": "gift_card_reload"},
    ],
)
def test_a_gift_card_line_is_one_card_of_a_value(till: Till, line: dict[str, Any]) -> None:
    answer = pay(till, [line])
    assert answer.status_code == 400
    assert "invalid_gift_card_line" in str(answer.json())


def test_what_a_till_key_still_may_not_do_with_gift_cards(till: Till, merchant) -> None:
    """Value is created at a till only against a payment: never by a bare issue or reload."""
    card = issue_card(merchant).gift_card
    for path, body in (
        ("/api/v1/gift-cards", {"initial_value": eur("10.00")}),
        (f"/api/v1/gift-cards/{card.public_id}/reload", {"amount": eur("10.00")}),
        (f"/api/v1/gift-cards/{card.public_id}/activate", {}),
        (f"/api/v1/gift-cards/{card.public_id}/block", {"reason": "x"}),
        ("/api/v1/vouchers", {"currency": EUR, "amount": eur("5.00")}),
    ):
        answer = till.api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert answer.status_code == 403, path
    assert till.api.get(f"/api/v1/gift-cards/{card.public_id}").status_code == 403
    card.account.refresh_from_db()
    assert card.account.available == Money("50.00", EUR).amount


@pytest.mark.django_db(transaction=True)
def test_gift_cards_through_the_cli(live_server, till: Till, run: Run) -> None:
    configure(run, till, live_server.url)
    code, sold = run("gift-card", "sell", "--amount", "25.00", "--cash")
    assert code == 0, sold
    [line] = sold["gift_cards"]
    assert line["code_shown"] is True
    code, balance = run("gift-card", "balance", line["code"])
    assert (code, balance["available"]) == (0, eur("25.00"))
    code, reloaded = run(
        "gift-card", "reload", line["code"], "--amount", "10.00", "--external-card", "TRM-9"
    )
    assert code == 0, reloaded
    assert reloaded["gift_cards"][0]["kind"] == "gift_card_reload"
    code, balance = run("gift-card", "balance", line["code"])
    assert balance["available"] == eur("35.00")
    code, wrong = run("gift-card", "balance", "NOPE-NOPE-NOPE-NOPE")
    assert code == REFUSED_BY_SERVER
    assert "code_not_recognised" in wrong["error"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["gift-card", "sell", "--amount", "5.00", "--cash"]) == 0
    assert "CODE (shown once, give it to the customer):" in out.getvalue()


def test_a_card_is_paid_with_money_not_stored_value(till: Till, merchant) -> None:
    card = issue_card(merchant, "50.00")
    body = {
        "amount": eur("20.00"),
        "tenders": [{"method": "gift_card", "code": card.code}],
        "capture": True,
        "basket": [gift_line("20.00")],
    }
    answer = till.api.post(
        "/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "gift_card_line_refused")
    assert GiftCard.objects.count() == 1


def test_the_value_put_on_a_card_is_not_refunded_as_money(till: Till) -> None:
    basket = [gift_line("25.00"), {"sku": "MUG", "quantity": 1, "unit_price": eur("10.00")}]
    payment = pay(till, basket).json()["id"]

    def refund(amount: str) -> Any:
        return till.api.post(
            f"/api/v1/payments/{payment}/refunds",
            {"amount": eur(amount)},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )

    too_much = refund("10.01")
    assert (too_much.status_code, too_much.json()["code"]) == (422, "refund_exceeds_refundable")
    assert too_much.json()["meta"]["refundable"] == eur("10.00")
    assert refund("10.00").status_code == 201


def test_a_capture_the_process_died_in_is_finished_by_recovery_issuing_once(
    till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = pay(till, [gift_line("40.00")], capture=False).json()
    payment = Payment.objects.get(public_id=held["id"])

    def died(*args: Any, **kwargs: Any) -> Payment:
        raise RuntimeError("process killed")

    monkeypatch.setattr(capture_service, "finish_capture", died)
    with pytest.raises(RuntimeError):
        capture_service.payment_capture(payment=payment, actor=system_actor("test"))
    monkeypatch.undo()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURING
    assert not GiftCard.objects.exists()
    for _ in range(2):
        recovered = payment_recover(payment=Payment.objects.get(pk=payment.pk))
        assert recovered.status == Payment.Status.CAPTURED
    assert GiftCard.objects.count() == 1
    assert Transfer.objects.filter(code=Transfer.Code.ISSUE).count() == 1


def _held_reload(till: Till) -> tuple[Payment, GiftCard]:
    card = issue_card(till.store.merchant, "10.00").gift_card
    line = {**gift_line("15.00"), "kind": "gift_card_reload", "gift_card": str(card.public_id)}
    held = pay(till, [line], capture=False)
    assert held.status_code == 201, held.json()
    return Payment.objects.get(public_id=held.json()["id"]), card


def test_a_reload_of_a_card_blocked_before_the_capture_refuses_it_cleanly(till: Till) -> None:
    payment, card = _held_reload(till)
    gift_card_block(gift_card=card, reason="lost", actor=system_actor("test"))
    answer = till.api.post(
        f"/api/v1/payments/{payment.public_id}/capture",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "instrument_blocked")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED  # nothing taken; it can be voided
    assert not Transfer.objects.filter(code=Transfer.Code.RELOAD).exists()


def test_a_paid_for_reload_completes_though_the_card_was_blocked_meanwhile(
    till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment, card = _held_reload(till)
    real_finish = capture_service.finish_capture

    def blocked_while_capturing(payment: Payment, *, actor: str, **kwargs: Any) -> Payment:
        # Between the capture's check and its settling (Stripe capturing, say).
        gift_card_block(gift_card=card, reason="lost", actor=system_actor("test"))
        return real_finish(payment, actor=actor, **kwargs)

    monkeypatch.setattr(capture_service, "finish_capture", blocked_while_capturing)
    captured = capture_service.payment_capture(payment=payment, actor=system_actor("test"))
    assert captured.status == Payment.Status.CAPTURED
    card.account.refresh_from_db()
    assert card.account.balance == Decimal("25.00")
