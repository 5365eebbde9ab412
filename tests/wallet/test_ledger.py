"""The ledger's rules: two-phase transfers, append-only rows, database guards, ledger_check."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from tests.wallet.factories import ACTOR
from wallet.errors import (
    AmountExceedsHold,
    AmountExceedsReversible,
    AmountNotPositive,
    AmountTooPrecise,
    CurrencyMismatch,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    ReasonRequired,
)
from wallet.ledger import ledger_verify
from wallet.models import Entry, LedgerAccount, Transfer
from wallet.system_accounts import instrument_account_open, system_account
from wallet.transfers import (
    ledger_adjust,
    transfer_create,
    transfer_hold,
    transfer_post,
    transfer_reverse,
    transfer_void,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def card(merchant) -> LedgerAccount:
    account = instrument_account_open(
        merchant_id=merchant.pk, kind=LedgerAccount.Kind.GIFT_CARD, unit="EUR", name="card"
    )
    transfer_create(
        debit=system_account(merchant_id=merchant.pk, kind="issuance", unit="EUR"),
        credit=account,
        amount=D("100.00"),
        unit="EUR",
        code=Transfer.Code.ISSUE,
        actor=ACTOR,
    )
    account.refresh_from_db()
    return account


@pytest.fixture
def clearing(merchant) -> LedgerAccount:
    return system_account(merchant_id=merchant.pk, kind="redemption_clearing", unit="EUR")


def _hold(card, clearing, amount="30.00", expires_at=None) -> Transfer:
    return transfer_hold(
        debit=card,
        credit=clearing,
        amount=D(amount),
        unit="EUR",
        reference="payment-1",
        expires_at=expires_at,
        actor=ACTOR,
    )


def test_hold_lowers_available_not_balance(card, clearing) -> None:
    hold = _hold(card, clearing)
    card.refresh_from_db()
    assert (card.balance, card.held, card.available) == (D("100"), D("30"), D("70"))
    assert hold.state == "pending"
    assert ledger_verify() == []


def test_post_part_of_a_hold_releases_the_rest(card, clearing) -> None:
    hold = _hold(card, clearing)
    post = transfer_post(transfer=hold, amount=D("12.50"), actor=ACTOR)
    card.refresh_from_db()
    assert (card.balance, card.held, card.available) == (D("87.50"), D("0"), D("87.50"))
    assert post.pending == hold
    hold.refresh_from_db()
    assert hold.state == "posted"
    assert ledger_verify() == []


def test_void_releases_everything(card, clearing) -> None:
    hold = _hold(card, clearing)
    void = transfer_void(transfer=hold, reason="payment failed", actor=ACTOR)
    card.refresh_from_db()
    assert (card.balance, card.held, card.available) == (D("100"), D("0"), D("100"))
    assert void.amount == D("30.00")
    hold.refresh_from_db()
    assert hold.state == "voided"


def test_a_hold_resolves_once(card, clearing) -> None:
    hold = _hold(card, clearing)
    transfer_post(transfer=hold, actor=ACTOR)
    with pytest.raises(HoldNotPending) as posted_twice:
        transfer_post(transfer=hold, actor=ACTOR)
    assert posted_twice.value.meta == {"state": "posted"}
    with pytest.raises(HoldNotPending):
        transfer_void(transfer=hold, reason="too late", actor=ACTOR)


def test_the_database_refuses_a_second_resolution(card, clearing) -> None:
    hold = _hold(card, clearing)
    transfer_void(transfer=hold, reason="first", actor=ACTOR)
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.create(
            merchant=hold.merchant,
            kind=Transfer.Kind.POST_PENDING,
            code=hold.code,
            debit_account=card,
            credit_account=clearing,
            amount=D("1"),
            unit="EUR",
            pending=hold,
        )


def test_post_more_than_held_or_after_expiry_is_refused(card, clearing) -> None:
    hold = _hold(card, clearing)
    with pytest.raises(AmountExceedsHold):
        transfer_post(transfer=hold, amount=D("30.01"), actor=ACTOR)
    expired = _hold(card, clearing, "5.00", expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(HoldExpired):
        transfer_post(transfer=expired, actor=ACTOR)
    transfer_void(transfer=expired, reason="timed out", actor=ACTOR)  # the expiry task's way out
    assert ledger_verify() == []


def test_insufficient_funds_carries_available_and_changes_nothing(card, clearing) -> None:
    _hold(card, clearing, "90.00")
    before = (Transfer.objects.count(), Entry.objects.count())
    with pytest.raises(InsufficientFunds) as refused:
        _hold(card, clearing, "10.01")
    assert refused.value.meta == {"available": {"amount": "10.00", "currency": "EUR"}}
    assert refused.value.status == 402
    assert (Transfer.objects.count(), Entry.objects.count()) == before


@pytest.mark.parametrize(
    ("amount", "unit", "error"),
    [
        ("0", "EUR", AmountNotPositive),
        ("-1.00", "EUR", AmountNotPositive),
        ("1.001", "EUR", AmountTooPrecise),
        ("1.00", "USD", CurrencyMismatch),
    ],
)
def test_bad_amounts_are_refused(card, clearing, amount, unit, error) -> None:
    with pytest.raises(error):
        transfer_hold(
            debit=card,
            credit=clearing,
            amount=D(amount),
            unit=unit,
            reference="",
            expires_at=None,
            actor=ACTOR,
        )
    assert not Transfer.objects.filter(kind=Transfer.Kind.PENDING).exists()


def test_reversals_never_exceed_the_original(card, clearing) -> None:
    post = transfer_post(transfer=_hold(card, clearing), actor=ACTOR)
    transfer_reverse(
        transfer=post, amount=D("10.00"), reference="refund-1", reason="return", actor=ACTOR
    )
    with pytest.raises(AmountExceedsReversible) as refused:
        transfer_reverse(
            transfer=post, amount=D("20.01"), reference="refund-2", reason="return", actor=ACTOR
        )
    assert refused.value.meta["reversible"]["amount"] == "20.00"
    rest = transfer_reverse(transfer=post, reference="refund-3", reason="return", actor=ACTOR)
    assert rest.amount == D("20.00")
    card.refresh_from_db()
    assert card.available == D("100.00")
    assert ledger_verify() == []


def test_adjustment_needs_a_reason_and_goes_through_the_ledger(card) -> None:
    with pytest.raises(ReasonRequired):
        ledger_adjust(account=card, amount=D("5"), reason=" ", actor=ACTOR)
    transfer = ledger_adjust(account=card, amount=D("-5.00"), reason="goodwill fix", actor=ACTOR)
    assert transfer.debit_account == card
    assert transfer.credit_account.kind == LedgerAccount.Kind.ADJUSTMENTS
    with pytest.raises(InsufficientFunds):
        ledger_adjust(account=card, amount=D("-95.01"), reason="too much", actor=ACTOR)
    assert ledger_verify() == []


def test_ledger_rows_are_append_only_in_the_database(card, clearing) -> None:
    hold = _hold(card, clearing)
    for sql in (
        "UPDATE wallet_transfer SET amount = 1 WHERE id = %s",
        "DELETE FROM wallet_entry WHERE transfer_id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [hold.pk])


def test_the_database_refuses_a_negative_available_balance(card) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=card.pk).update(debits_pending=D("100.01"))


def test_ledger_check_passes_on_a_populated_ledger(card, clearing) -> None:
    transfer_post(transfer=_hold(card, clearing), amount=D("10.00"), actor=ACTOR)
    transfer_void(transfer=_hold(card, clearing), reason="abandoned", actor=ACTOR)
    _hold(card, clearing, "1.00")
    call_command("ledger_check")


def test_ledger_check_fails_on_a_tampered_balance(card, clearing) -> None:
    _hold(card, clearing)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wallet_ledgeraccount SET credits_posted = credits_posted + 5 WHERE id = %s",
            [card.pk],
        )
    with pytest.raises(CommandError):
        call_command("ledger_check")
    assert any("cached credits_posted" in problem for problem in ledger_verify())


def test_ledger_check_fails_on_a_tampered_entry(card, clearing) -> None:
    hold = _hold(card, clearing)
    with connection.cursor() as cursor:
        # Tampering needs the append-only triggers out of the way, as an intruder would.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE wallet_entry SET amount = amount - 1 "
            "WHERE transfer_id = %s AND side = 'credit'",
            [hold.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    problems = ledger_verify()
    assert any(f"transfer {hold.pk}: pending entries sum to" in p for p in problems)
    with pytest.raises(CommandError):
        call_command("ledger_check")
