"""The stored-value liability: per day from ledger entries, equal to the ledger's balances."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone
from moneyed import Money

from tests.factories import CustomerFactory, StoreFactory
from tests.wallet.factories import LoyaltyProgrammeFactory, issue_card, issue_voucher
from wallet.demo import seed_demo
from wallet.ledger_verify import ledger_verify
from wallet.liability import Liability, liability_as_of, liability_snapshots_due
from wallet.models import Entry, LedgerAccount, LiabilitySnapshot, Transfer
from wallet.selectors import account_balance
from wallet.services import (
    gift_card_hold,
    gift_card_post,
    gift_card_refund,
    gift_card_reload,
    gift_cards_expire_due,
    instrument_adjust,
    loyalty_account_open,
    loyalty_earn,
    loyalty_points_expire_due,
    loyalty_points_hold,
    loyalty_points_post,
    voucher_redemption_consume,
    voucher_reserve,
)
from wallet.tasks import wallet_liability_snapshots

pytestmark = pytest.mark.django_db
ACTOR = "system:test"
DAY_1, DAY_2 = date(2026, 1, 10), date(2026, 1, 11)


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


@pytest.fixture
def at(monkeypatch):
    """Move the clock: transfers are stamped with the time they are written."""

    def move(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return move


@pytest.fixture
def history(at):
    """Two days of a merchant in Amsterdam (UTC+1 in January)."""
    store = StoreFactory.create(timezone="Europe/Amsterdam")
    merchant = store.merchant
    at(datetime(2026, 1, 10, 10, 0, tzinfo=UTC))
    card = issue_card(merchant, "50.00").gift_card
    gift_card_reload(gift_card=card, amount=eur("20.00"), reference="reload-1", actor=ACTOR)
    held = gift_card_hold(
        gift_card=card, amount=eur("15.00"), reference="sale-1", expires_at=None, actor=ACTOR
    )
    sale = gift_card_post(transfer=held, actor=ACTOR)
    expiring = issue_card(merchant, "30.00").gift_card
    programme = LoyaltyProgrammeFactory.create(merchant=merchant, points_validity_days=30)
    loyalty = loyalty_account_open(
        programme=programme, customer=CustomerFactory.create(merchant=merchant)
    )
    loyalty_earn(account=loyalty, spend=eur("100.00"), reference="earn-1", actor=ACTOR)
    burn = loyalty_points_hold(
        account=loyalty, points=20, reference="burn-1", expires_at=None, actor=ACTOR
    )
    loyalty_points_post(transfer=burn, actor=ACTOR)
    voucher = issue_voucher(merchant, amount=eur("5.00"), max_uses_total=10).voucher
    used = voucher_reserve(
        voucher=voucher, customer=None, amount=eur("5.00"), reference="v-1", actor=ACTOR
    )
    voucher_redemption_consume(redemption=used, actor=ACTOR)
    # 00:30 on the 11th in Amsterdam: the second business day already.
    at(datetime(2026, 1, 10, 23, 30, tzinfo=UTC))
    gift_card_hold(
        gift_card=card, amount=eur("5.00"), reference="open-1", expires_at=None, actor=ACTOR
    )
    at(datetime(2026, 1, 11, 10, 0, tzinfo=UTC))
    gift_card_refund(
        transfer=sale, amount=eur("5.00"), reference="refund-1", reason="refund", actor=ACTOR
    )
    instrument_adjust(account=card.account, amount=Decimal("3.00"), reason="goodwill", actor=ACTOR)
    expiring.expires_at = datetime(2026, 1, 11, 9, 0, tzinfo=UTC)
    expiring.save(update_fields=["expires_at"])
    assert gift_cards_expire_due(actor=ACTOR) == 1  # 30.00 to breakage
    assert loyalty_points_expire_due(at=datetime(2026, 3, 1, tzinfo=UTC), actor=ACTOR) == 1
    voucher_reserve(
        voucher=voucher, customer=None, amount=eur("2.00"), reference="v-2", actor=ACTOR
    )
    return merchant


def test_each_day_is_computed_from_the_entries_written_before_its_end(history) -> None:
    [before] = liability_as_of(merchant=history, day=date(2026, 1, 9))
    assert before.gift_card_issued == before.deferred_revenue == eur("0.00")
    assert before.points_outstanding == 0
    [first] = liability_as_of(merchant=history, day=DAY_1)
    assert first == Liability(
        currency="EUR",
        day=DAY_1,
        gift_card_issued=eur("100.00"),
        gift_card_redeemed=eur("15.00"),
        gift_card_breakage=eur("0.00"),
        gift_card_adjusted=eur("0.00"),
        gift_card_outstanding=eur("85.00"),
        gift_card_held=eur("0.00"),
        voucher_funding_used=eur("5.00"),
        voucher_funding_held=eur("0.00"),
        points_outstanding=80,
        points_held=0,
        points_expired=0,
        point_value=Decimal("0.010000"),
        points_value=eur("0.80"),
        breakage_recognised=eur("0.00"),
        deferred_revenue=eur("85.80"),
    )
    [second] = liability_as_of(merchant=history, day=DAY_2)
    assert (
        second.gift_card_issued,
        second.gift_card_redeemed,
        second.gift_card_breakage,
        second.gift_card_adjusted,
        second.gift_card_outstanding,
        second.gift_card_held,
    ) == (eur("100.00"), eur("10.00"), eur("30.00"), eur("3.00"), eur("63.00"), eur("5.00"))
    assert (second.points_outstanding, second.points_expired, second.points_value) == (
        0,
        80,
        eur("0.00"),
    )
    assert (second.voucher_funding_used, second.voucher_funding_held) == (eur("5.00"), eur("2.00"))
    assert second.breakage_recognised == eur("30.80")
    assert second.deferred_revenue == eur("63.00")


def _recomputed(merchant, kind: str, unit: str, before: datetime) -> tuple[Decimal, Decimal]:
    """(posted credits - posted debits, pending debits) of every `kind` account, entry by entry."""
    posted = held = Decimal(0)
    for entry in Entry.objects.filter(
        account__merchant=merchant,
        account__kind=kind,
        account__unit=unit,
        transfer__created_at__lt=before,
    ):
        if entry.layer == Entry.Layer.POSTED:
            posted += entry.amount if entry.side == Entry.Side.CREDIT else -entry.amount
        elif entry.side == Entry.Side.DEBIT:
            held += entry.amount
    return posted, held


def test_the_report_equals_the_entries_and_the_ledgers_balances(history) -> None:
    today = timezone.localdate()
    [now] = liability_as_of(merchant=history, day=today)
    before = datetime.combine(today + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    Kind = LedgerAccount.Kind
    gift_cards = _recomputed(history, Kind.GIFT_CARD, "EUR", before)
    assert (now.gift_card_outstanding.amount, now.gift_card_held.amount) == gift_cards
    points = _recomputed(history, Kind.LOYALTY, "PTS_EUR", before)
    assert (now.points_outstanding, now.points_held) == points

    accounts = LedgerAccount.objects.filter(merchant=history)
    cards = accounts.filter(kind=Kind.GIFT_CARD)
    assert now.gift_card_outstanding.amount == sum(a.balance for a in cards)
    assert now.gift_card_held.amount == sum(a.held for a in cards)
    assert now.points_outstanding == sum(a.balance for a in accounts.filter(kind=Kind.LOYALTY))
    breakage = accounts.get(kind=Kind.BREAKAGE, unit="EUR")
    assert now.gift_card_breakage.amount == account_balance(account=breakage)
    expired_points = accounts.get(kind=Kind.BREAKAGE, unit="PTS_EUR")
    assert now.points_expired == account_balance(account=expired_points)
    funding = accounts.get(kind=Kind.VOUCHER_FUNDING, unit="EUR")
    assert now.voucher_funding_used.amount == -account_balance(account=funding)
    issuance = accounts.get(kind=Kind.ISSUANCE, unit="EUR")
    assert now.gift_card_issued.amount == -account_balance(account=issuance)
    assert ledger_verify() == []
    assert Transfer.objects.filter(merchant=history, code=Transfer.Code.BREAKAGE).count() == 1


def test_the_nightly_task_writes_each_closed_day_once(history, at) -> None:
    at(datetime(2026, 1, 12, 0, 30, tzinfo=UTC))  # the 11th is the last closed day in Amsterdam
    assert wallet_liability_snapshots.delay().get() == 7  # a week back from the 11th
    assert wallet_liability_snapshots.delay().get() == 0
    snapshots = {s.day: s for s in LiabilitySnapshot.objects.filter(merchant=history)}
    assert set(snapshots) == {DAY_2 - timedelta(days=back) for back in range(7)}
    assert snapshots[DAY_1 - timedelta(days=1)].gift_card_outstanding == 0
    [second] = liability_as_of(merchant=history, day=DAY_2)
    snapshot = snapshots[DAY_2]
    assert (snapshot.currency, snapshot.gift_card_outstanding) == ("EUR", Decimal("63.0000"))
    assert snapshot.gift_card_breakage == second.gift_card_breakage.amount
    assert snapshot.points_expired == 80
    assert snapshot.deferred_revenue == second.deferred_revenue.amount


def test_the_back_office_lists_the_snapshots_and_exports_them_as_csv(history, at, admin_client):
    at(datetime(2026, 1, 12, 0, 30, tzinfo=UTC))
    liability_snapshots_due()
    changelist = reverse("admin:wallet_liabilitysnapshot_changelist")
    page = admin_client.get(changelist)
    assert page.status_code == 200
    assert b"63.00" in page.content
    snapshot = LiabilitySnapshot.objects.get(day=DAY_2)
    assert (
        admin_client.post(
            reverse("admin:wallet_liabilitysnapshot_delete", args=[snapshot.pk])
        ).status_code
        == 403
    )
    export = admin_client.post(
        changelist,
        {
            "action": "export_csv",
            "_selected_action": [s.pk for s in LiabilitySnapshot.objects.all()],
        },
    )
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))[-2:]
    assert [(r["day"], r["gift_card_outstanding"], r["breakage_recognised"]) for r in rows] == [
        ("2026-01-10", "85.0000", "0.0000"),
        ("2026-01-11", "63.0000", "30.8000"),
    ]
    assert rows[0]["merchant"] == history.name


def test_a_staff_user_without_the_view_permission_sees_no_liability(history, at, client):
    at(datetime(2026, 1, 12, 0, 30, tzinfo=UTC))
    liability_snapshots_due()
    changelist = reverse("admin:wallet_liabilitysnapshot_changelist")
    staff = User.objects.create_user("clerk", is_staff=True)
    client.force_login(staff)
    assert client.get(changelist).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_liabilitysnapshot"))
    staff = User.objects.get(pk=staff.pk)  # permissions are cached on the user object
    client.force_login(staff)
    page = client.get(changelist)
    assert page.status_code == 200
    assert b"63.00" in page.content


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_the_csv_defuses_merchant_names_that_look_like_formulas(history, at, admin_client, start):
    at(datetime(2026, 1, 12, 0, 30, tzinfo=UTC))
    liability_snapshots_due()
    history.name = f'{start}HYPERLINK("http://evil.example","x")'
    history.save(update_fields=["name"])
    export = admin_client.post(
        reverse("admin:wallet_liabilitysnapshot_changelist"),
        {
            "action": "export_csv",
            "_selected_action": [s.pk for s in LiabilitySnapshot.objects.all()],
        },
    )
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert rows
    assert {r["merchant"] for r in rows} == {f"'{history.name}"}
    # Figures stay numbers (a negative adjustment keeps its minus sign).
    assert all(Decimal(r["gift_card_outstanding"]) >= 0 for r in rows)


def test_the_demo_has_liability_snapshots() -> None:
    store = StoreFactory.create()
    seed_demo(merchant=store.merchant, store=store)
    snapshots = LiabilitySnapshot.objects.filter(merchant=store.merchant)
    assert snapshots.count() == 4
    today = snapshots.order_by("-day").first()
    assert today is not None
    assert today.gift_card_outstanding == Decimal("65.0000")  # Ada's 40.00 + the walk-in 25.00
    assert today.points_outstanding == 1250
