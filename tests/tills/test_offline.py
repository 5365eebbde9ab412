"""The server stops mid-shift: the till sells offline within the policy, then replays its
journal exactly once, each sale with its original time, even when a sync is interrupted."""

import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from moneyed import Money

from config.actors import system_actor
from config.embedded import free_port
from merchants.authentication import api_key_cache_clear
from merchants.services import api_key_revoke
from payments.models import Payment, Refund
from payments.till_cli import POLICY, REFUSED_BY_SERVER, SYNC_REFUSALS, UNREACHABLE, main
from payments.till_client import KassaUnreachable, TillClient
from tests.payments.conftest import available
from tests.tills.conftest import Run, Till, configure
from tests.wallet.factories import issue_card
from tills.models import OfflineShortfall
from tills.offline_value import offline_float_fund
from wallet.models import GiftCard

pytestmark = pytest.mark.django_db(transaction=True)
ACTOR = system_actor("test")


def stopped_server() -> str:
    """A loopback port nobody listens on: to the till, the server has stopped."""
    return f"http://127.0.0.1:{free_port()}"


def crash_after_sends(monkeypatch: pytest.MonkeyPatch, sends: int) -> None:
    """The till dies right after its `sends`-th POST reached the server, before the journal
    records the answer (the worst moment)."""
    original = TillClient.post
    count = 0

    def post(self: TillClient, *args: Any, **kwargs: Any) -> dict[str, Any]:
        nonlocal count
        answer = original(self, *args, **kwargs)
        count += 1
        if count == sends:
            raise RuntimeError("till killed")
        return answer

    monkeypatch.setattr(TillClient, "post", post)


def go_offline(run: Run, till: Till, live_server) -> None:
    configure(run, till, live_server.url)
    code, status = run("status")  # online once: the offline policy is cached
    assert code == 0
    assert status["online"] is True
    assert status["offline_policy"]["methods"] == ["cash", "external_card"]
    configure(run, till, stopped_server())


def test_server_stopped_mid_shift_sales_replay_exactly_once(
    live_server, till: Till, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    gift = fund_float_and_card(till, "50.00")
    configure(run, till, live_server.url)
    code, online = run("sale", "--amount", "10.00", "--cash", "--reference", "R1")
    assert code == 0
    assert online["offline"] is False
    assert run("allowance", "reserve", "100.00")[0] == 0
    configure(run, till, stopped_server())

    code, cash = run("sale", "--amount", "12.50", "--cash", "--reference", "R2")
    assert (code, cash["offline"]) == (0, True)
    code, card = run("sale", "--amount", "30.00", "--external-card", "TRM-77", "--reference", "R3")
    assert (code, card["offline"]) == (0, True)
    code, gc = run("sale", "--amount", "20.00", "--gift-card", f"{gift}:1234", "--reference", "R4")
    assert (code, gc.get("offline")) == (0, True), gc
    code, over = run("sale", "--amount", "250.00", "--cash")
    assert code == POLICY
    assert "Over the offline cap per sale (200.00 EUR)" in over["error"]
    code, saved = run("sale", "--amount", "5.00", "--saved-card", str(uuid.uuid4()))
    assert code == POLICY
    assert "Not allowed offline: card" in saved["error"]
    code, beyond = run("sale", "--amount", "90.00", "--gift-card", f"{gift}:1234")
    assert code == POLICY
    assert "Over this till's offline gift card allowance (80.00 EUR left)" in beyond["error"]
    assert Payment.objects.count() == 1

    configure(run, till, live_server.url)
    crash_after_sends(monkeypatch, sends=2)  # R2 synced and recorded; R3 sent, not recorded
    with pytest.raises(RuntimeError, match="till killed"):
        run("sync")
    monkeypatch.undo()
    monkeypatch.setenv("KASSA_TILL_HOME", str(till.home))
    assert [e.status for e in till.journal().entries()] == [
        "synced",
        "synced",
        "pending",
        "pending",
        "refused_offline",
        "refused_offline",
        "refused_offline",
    ]
    code, synced = run("sync")
    assert code == 0
    assert synced["pending"] == 0
    assert [item["status"] for item in synced["replayed"]] == ["synced", "synced"]

    entries = {e.body.get("external_reference"): e for e in till.journal().entries()}
    payments = {p.external_reference: p for p in Payment.objects.all()}
    assert sorted(payments) == ["R1", "R2", "R3", "R4"]  # each exactly once
    for reference in ("R2", "R3", "R4"):
        payment, entry = payments[reference], entries[reference]
        assert payment.offline is True
        assert payment.offline_late is False
        assert payment.occurred_at == datetime.fromisoformat(entry.occurred_at)
        assert payment.created_at > payment.occurred_at  # the server's own time stays
        assert str(payment.public_id) == entry.payment_id
        assert payment.events.filter(type="payment.offline_replayed").count() == 1
    assert payments["R1"].offline is False
    assert payments["R3"].captured_amount.amount == Decimal("30.00")
    assert [t.method for t in payments["R3"].tenders.all()] == ["external_card"]
    assert [t.method for t in payments["R4"].tenders.all()] == ["offline_gift_card"]
    assert available(GiftCard.objects.get()) == Decimal("30.00")  # debited once, on replay
    assert not OfflineShortfall.objects.exists()
    code, again = run("sync")  # nothing left: a further sync sends nothing
    assert (code, again["replayed"]) == (0, [])
    assert Payment.objects.count() == 4


def fund_float_and_card(till: Till, value: str) -> str:
    """The merchant's offline float, and a card with PIN 1234 holding `value`: its code."""
    merchant = till.store.merchant
    offline_float_fund(merchant=merchant, amount=Money("500.00", "EUR"), actor=ACTOR)
    return issue_card(merchant, value, pin="1234").code


def test_an_offline_card_sale_short_on_replay_is_a_shortfall_not_a_negative_card(
    live_server, till: Till, run: Run
) -> None:
    code_ = fund_float_and_card(till, "10.00")
    configure(run, till, live_server.url)
    code, reserved = run("allowance", "reserve", "100.00")
    assert (code, reserved["remaining"]) == (0, {"amount": "100.00", "currency": "EUR"})
    configure(run, till, stopped_server())
    code, sale = run(
        "sale", "--amount", "30.00", "--gift-card", f"{code_}:1234", "--reference", "S1"
    )
    assert (code, sale["offline"]) == (0, True)
    configure(run, till, live_server.url)
    code, synced = run("sync")
    assert code == 0, synced
    payment = Payment.objects.get()
    assert (payment.offline, payment.captured_amount.amount) == (True, Decimal("30.00"))
    card = GiftCard.objects.get()
    assert available(card) == Decimal("0.00")
    card.account.refresh_from_db()
    assert card.account.balance == Decimal("0.00")  # never below zero
    shortfall = OfflineShortfall.objects.get()
    assert (shortfall.amount.amount, shortfall.card_paid.amount) == (
        Decimal("20.00"),
        Decimal("10.00"),
    )
    assert shortfall.payment_id == payment.public_id
    policy = till.journal().state("offline_policy")  # refreshed after the replay
    assert policy["allowances"][0]["remaining"]["amount"] == "80.00"
    code, released = run("allowance", "release")
    assert (code, released["status"]) == (0, "released")
    code, status = run("status")
    assert status["offline_policy"]["allowances"] == []


def test_an_offline_card_sale_over_the_cap_is_refused_clearly(
    live_server, till: Till, run: Run, settings
) -> None:
    settings.KASSA_TILL_OFFLINE = {"max_sale": "50.00"}
    code_ = fund_float_and_card(till, "100.00")
    configure(run, till, live_server.url)
    assert run("allowance", "reserve", "100.00")[0] == 0
    configure(run, till, stopped_server())
    code, over = run("sale", "--amount", "60.00", "--gift-card", f"{code_}:1234")
    assert code == POLICY
    assert over["error"] == ("Server unreachable, and Over the offline cap per sale (50.00 EUR).")
    code, no_pin_amount = run(
        "sale", "--amount", "20.00", "--gift-card", f"{code_}:1234", "--cash", "@5.00"
    )
    assert code == POLICY
    assert "give the gift card's amount (CODE:PIN@AMOUNT)" in no_pin_amount["error"]
    assert not Payment.objects.exists()


def test_the_per_till_offline_total_is_capped(live_server, till: Till, run: Run) -> None:
    go_offline(run, till, live_server)
    for _ in range(5):
        assert run("sale", "--amount", "200.00", "--cash")[0] == 0
    code, refused = run("sale", "--amount", "0.01", "--cash")
    assert code == POLICY
    assert "offline total (1000.00" in refused["error"]


def test_a_replay_older_than_the_maximum_age_is_accepted_and_flagged(
    live_server, till: Till, run: Run
) -> None:
    go_offline(run, till, live_server)
    assert run("sale", "--amount", "12.50", "--cash", "--reference", "OLD")[0] == 0
    long_ago = (datetime.now(UTC) - timedelta(hours=80)).isoformat()
    _edit_entry(till, lambda body: {**body, "occurred_at": long_ago})

    configure(run, till, live_server.url)
    code, synced = run("sync")
    assert code == 0
    assert synced["replayed"][0]["status"] == "synced"
    payment = Payment.objects.get(external_reference="OLD")
    assert payment.status == Payment.Status.CAPTURED
    assert payment.offline_late is True
    assert payment.occurred_at == datetime.fromisoformat(long_ago)
    assert payment.events.filter(type="payment.offline_late").count() == 1


def test_an_entry_edited_after_it_reached_the_server_is_refused_and_kept(
    live_server, till: Till, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    go_offline(run, till, live_server)
    assert run("sale", "--amount", "12.50", "--cash", "--reference", "EDITED")[0] == 0
    configure(run, till, live_server.url)
    crash_after_sends(monkeypatch, sends=1)
    with pytest.raises(RuntimeError):
        run("sync")
    monkeypatch.undo()
    monkeypatch.setenv("KASSA_TILL_HOME", str(till.home))
    _edit_entry(till, lambda body: {**body, "amount": {"amount": "1.25", "currency": "EUR"}})

    code, report = run("sync")
    assert code == SYNC_REFUSALS
    assert report["replayed"][0]["status"] == "refused"
    assert report["replayed"][0]["outcome"]["code"] == "idempotency_key_reused"
    (entry,) = till.journal().entries()
    assert entry.status == "refused"
    assert entry.outcome is not None
    assert entry.body["amount"]["amount"] == "1.25"  # nothing lost, as edited
    assert Payment.objects.get().amount.amount == Decimal("12.50")


def _edit_entry(till: Till, change: Any) -> None:
    """Someone edits the till's journal behind its back (or a clock moved)."""
    db = sqlite3.connect(till.home / "journal.sqlite3")
    (seq, body) = db.execute("SELECT seq, body FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    new = change(json.loads(body))
    db.execute(
        "UPDATE entries SET body = ?, occurred_at = ? WHERE seq = ?",
        (json.dumps(new), new["occurred_at"], seq),
    )
    db.commit()
    db.close()


def test_the_readable_output_says_what_happened(
    live_server, till: Till, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    go_offline(run, till, live_server)
    assert main(["sale", "--amount", "7.00", "--cash"]) == 0
    assert "Sale recorded OFFLINE: 7.00 EUR (journal #1)" in capsys.readouterr().out
    configure(run, till, live_server.url)
    assert main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "sent: #1 " in out
    assert "7.00 EUR cash synced (offline) payment" in out
    assert "1 sent, 0 still pending." in out
    assert main(["sale", "--amount", "3.00", "--cash"]) == 0
    assert "Sale 3.00 EUR captured: payment" in capsys.readouterr().out


def test_a_revoked_key_refuses_the_sale_and_keeps_older_entries_waiting(
    live_server, till: Till, run: Run
) -> None:
    go_offline(run, till, live_server)
    assert run("sale", "--amount", "4.00", "--cash")[0] == 0
    configure(run, till, live_server.url)
    api_key_revoke(api_key=till.key)
    api_key_cache_clear()
    code, refused = run("sale", "--amount", "5.00", "--cash")
    assert code == REFUSED_BY_SERVER
    assert "authentication_failed" in refused["error"]
    assert [e.status for e in till.journal().entries()] == ["pending", "refused"]
    assert not Payment.objects.exists()


def test_identify_through_the_cli_and_a_wallet_needs_a_strong_presentation(
    live_server, till: Till, run: Run
) -> None:
    configure(run, till, live_server.url)
    code, found = run("identify", "--id", "email:ada@example.com")
    assert code == 0
    customer = found["customer"]
    code, wallet = run("wallet", customer)  # a typed email is too weak to show a wallet
    assert code == REFUSED_BY_SERVER
    assert wallet["error"].startswith("Refused: ")
    code, unknown = run("identify", "--id", "email:nobody@example.com", "--no-create")
    assert code == 0
    assert unknown["customer"] is None


def test_a_sale_refused_offline_keeps_no_gift_card_secret(
    live_server, till: Till, run: Run
) -> None:
    go_offline(run, till, live_server)
    code, refused = run("sale", "--amount", "5.00", "--gift-card", "GC7Q2M9X4K8P:4321")
    assert code == POLICY
    assert "Not allowed offline: gift_card" in refused["error"]
    journal = till.journal()
    (entry,) = journal.entries()
    journal.close()
    assert entry.status == "refused_offline"
    assert entry.body["tenders"] == [{"method": "gift_card", "code": "…4K8P", "pin": "****"}]
    for path in till.home.iterdir():  # the database, and a WAL if one is left
        assert b"GC7Q2M9X4K8P" not in path.read_bytes()


def test_a_sale_the_server_may_have_received_stays_pending_until_sync(
    live_server, till: Till, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server paid the sale and its answer was lost: a gift card cannot sell offline, yet
    it may have been paid, so the sale is kept for sync (which learns it was) and not refused."""
    card = issue_card(till.store.merchant, "50.00", pin="4321")
    configure(run, till, live_server.url)
    original = TillClient.post

    def answer_lost(self: TillClient, path: str, body: Any, *, idempotency_key: str) -> Any:
        original(self, path, body, idempotency_key=idempotency_key)
        raise KassaUnreachable(idempotency_key, TimeoutError("read timed out"))

    monkeypatch.setattr(TillClient, "post", answer_lost)
    code, unknown = run("sale", "--amount", "5.00", "--gift-card", f"{card.code}:4321")
    assert code == UNREACHABLE
    assert "outcome is unknown until `kassa-till sync` (journal #1)" in unknown["error"]
    assert [e.status for e in till.journal().entries()] == ["pending"]
    monkeypatch.setattr(TillClient, "post", original)

    code, synced = run("sync")
    assert code == 0
    (payment,) = Payment.objects.all()
    assert synced["replayed"][0]["payment"] == str(payment.public_id)
    assert payment.offline is False
    card.gift_card.refresh_from_db()
    assert available(card.gift_card) == Decimal("45.00")  # paid once


def test_a_refund_is_journaled_and_replayed_exactly_once(
    live_server, till: Till, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(run, till, live_server.url)
    code, sale = run("sale", "--amount", "20.00", "--cash", "--reference", "R1")
    assert code == 0
    payment = sale["sale"]["id"]
    configure(run, till, stopped_server())
    code, stored = run("refund", payment, "--amount", "5.00", "--reason", "broken")
    assert (code, stored["offline"], stored["refund"]["status"]) == (0, True, "pending")
    code, over = run("refund", payment, "--amount", "250.00")
    assert code == POLICY
    assert "Over the offline cap per sale (200.00 EUR)" in over["error"]
    assert not Refund.objects.exists()

    configure(run, till, live_server.url)
    crash_after_sends(monkeypatch, sends=1)  # the refund reached the server, the till died
    with pytest.raises(RuntimeError, match="till killed"):
        run("sync")
    monkeypatch.undo()
    monkeypatch.setenv("KASSA_TILL_HOME", str(till.home))
    code, synced = run("sync")
    assert (code, [item["status"] for item in synced["replayed"]]) == (0, ["synced"])
    refund = Refund.objects.get()  # once, though it was sent twice
    assert (refund.amount.amount, refund.reason) == (Decimal("5.00"), "broken")
    assert synced["replayed"][0]["payment"] == str(refund.public_id)
    assert run("sync")[1]["replayed"] == []
