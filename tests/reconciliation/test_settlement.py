"""A day's settlement per till and method equals the tenders; differences show, never hidden;
closing and reconciling obey their rules; a locked day's late correction is an adjustment."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from moneyed import Money

from payments.models import Payment, Refund, RefundAllocation, Tender
from reconciliation.errors import (
    SettlementAlreadyClosed,
    SettlementDayNotOver,
    SettlementLocked,
    SettlementPaymentsPending,
    SettlementReasonRequired,
)
from reconciliation.models import Settlement, SettlementLine
from reconciliation.selectors import day_window
from reconciliation.services import settlement_close, settlement_compute, settlement_reconcile
from tests.reconciliation.conftest import Day, day_ended, money, post
from tests.wallet.factories import issue_card
from tills.models import OfflineShortfall
from tills.offline_value import offline_float_fund, offline_shortfall_resolve

pytestmark = pytest.mark.django_db

ACTOR = "user:clerk"


def compute(day: Day, store: bool = True, business_day=None) -> list[Settlement]:
    return settlement_compute(
        merchant=day.shop.merchant,
        store=day.shop.store if store else None,
        business_day=business_day or day.business_day,
        match_stripe=False,
    )


def lines(settlement: Settlement) -> dict[str, tuple[str, str, str]]:
    return {
        line.method: (str(line.sales.amount), str(line.refunds.amount), str(line.net.amount))
        for line in settlement.lines.filter(kind=SettlementLine.Kind.DAY)
    }


def by_till(rows: list[Settlement]) -> dict[str, Settlement]:
    return {row.till_label: row for row in rows}


def test_totals_equal_the_tenders_per_method_for_web_and_two_tills(day: Day) -> None:
    rows = by_till(compute(day) + compute(day, store=False))
    assert set(rows) == {"T1", "T2", "web"}
    assert lines(rows["web"]) == {
        "voucher": ("10.00", "0.00", "10.00"),
        "gift_card": ("50.00", "0.00", "50.00"),
        "loyalty_points": ("5.00", "0.00", "5.00"),
        "card": ("35.00", "20.00", "15.00"),  # the partial refund goes to the card first
    }
    assert lines(rows["T1"]) == {
        "cash": ("30.00", "0.00", "30.00"),
        "external_card": ("25.00", "0.00", "25.00"),
    }
    assert lines(rows["T2"]) == {
        "cash": ("27.00", "0.00", "27.00"),
        "external_card": ("8.00", "5.00", "3.00"),
    }
    # Against the payments tables directly: every method, every till.
    for method in Tender.Method.values:
        sold = Tender.objects.filter(method=method, captured_amount__gt=0).aggregate(
            total=Sum("captured_amount")
        )["total"] or Decimal("0")
        refunded = RefundAllocation.objects.filter(
            tender__method=method, refund__status="succeeded"
        ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
        settled = SettlementLine.objects.filter(method=method).aggregate(
            sales=Sum("sales"), refunds=Sum("refunds")
        )
        assert (settled["sales"] or Decimal("0"), settled["refunds"] or Decimal("0")) == (
            sold,
            refunded,
        ), method
    t2 = rows["T2"]
    assert (t2.offline_count, t2.offline_total.amount, t2.offline_late_count) == (1, 15, 0)
    assert (t2.cash_expected.amount, t2.cash_counted.amount, t2.cash_variance.amount) == (
        Decimal("77.00"),
        Decimal("77.00"),
        Decimal("0.00"),
    )
    assert (t2.external_declared.amount, t2.external_recorded.amount) == (3, 3)
    assert t2.differences == []
    assert (rows["web"].terminal_id, rows["web"].store_id) == (None, None)


def test_counted_cash_five_short_is_a_difference(day: Day) -> None:
    t1 = by_till(compute(day))["T1"]
    assert (t1.cash_expected.amount, t1.cash_counted.amount) == (130, 125)
    assert t1.cash_variance.amount == Decimal("-5.00")
    assert {"code": "cash_variance", "amount": "-5.00", "detail": "counted - expected"} in (
        t1.differences
    )


def test_a_wrong_external_terminal_total_is_a_difference(day: Day) -> None:
    session = post(day.till2_api, "till-sessions", {"float": money("0.00")})
    post(
        day.till2_api,
        f"till-sessions/{session['id']}/close",
        {"counted": money("0.00"), "external_card_declared": money("3.00")},
    )
    t2 = by_till(compute(day))["T2"]
    assert t2.external_declared.amount == Decimal("6.00")
    assert {
        "code": "external_card_variance",
        "amount": "3.00",
        "detail": "declared - recorded",
    } in (t2.differences)


def test_compute_is_idempotent(day: Day) -> None:
    first = {row.pk: lines(row) for row in compute(day)}
    again = {row.pk: lines(row) for row in compute(day)}
    assert first == again
    assert Settlement.objects.count() == 2
    assert SettlementLine.objects.count() == 4


def test_closing_twice_is_a_conflict(day: Day) -> None:
    t2 = by_till(compute(day))["T2"]
    closed = settlement_close(settlement=t2, actor=ACTOR)
    assert (closed.status, closed.closed_by) == ("closed", ACTOR)
    with pytest.raises(SettlementAlreadyClosed) as error:
        settlement_close(settlement=t2, actor=ACTOR)
    assert error.value.status == 409
    # Recomputing a closed day keeps it closed.
    assert by_till(compute(day))["T2"].status == "closed"


def test_a_day_computed_before_its_end_cannot_be_reconciled(day: Day) -> None:
    """Sales of its last hours would be missing from the figures accepted."""
    t2 = by_till(compute(day))["T2"]
    with pytest.raises(SettlementDayNotOver) as error:
        settlement_reconcile(settlement=t2, actor=ACTOR, reason="early")
    assert error.value.status == 409
    assert (
        error.value.meta["day_ends_at"]
        == day_window(zone="UTC", business_day=day.business_day)[1].isoformat()
    )
    assert Settlement.objects.get(pk=t2.pk).status == "open"


def test_differences_need_a_reason_then_the_day_is_locked(day: Day) -> None:
    day = day_ended(day)
    t1 = by_till(compute(day))["T1"]
    with pytest.raises(SettlementReasonRequired):
        settlement_reconcile(settlement=t1, actor=ACTOR, reason="  ")
    done = settlement_reconcile(settlement=t1, actor=ACTOR, reason="Till 1 short: counted twice")
    assert done.status == Settlement.Status.RECONCILED_WITH_DIFFERENCES
    assert (done.accepted_by, done.reason) == (ACTOR, "Till 1 short: counted twice")
    with pytest.raises(SettlementLocked):
        settlement_close(settlement=done, actor=ACTOR)
    with pytest.raises(SettlementLocked):
        settlement_reconcile(settlement=done, actor=ACTOR, reason="again")
    before = lines(done)
    assert by_till(compute(day))["T1"].computed_at == done.computed_at
    assert lines(done) == before
    with pytest.raises(DatabaseError), transaction.atomic():
        Settlement.objects.filter(pk=done.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        SettlementLine.objects.filter(settlement=done).delete()


def test_a_day_with_a_payment_still_moving_cannot_be_reconciled(day: Day) -> None:
    day = day_ended(day)
    authorised = post(
        day.shop.web,
        "payments",
        {
            "amount": money("12.00"),
            "tenders": [{"method": "card", "bank_card": str(day.shop.bank_card.public_id)}],
            "customer": str(day.shop.customer.public_id),
        },
    )
    Payment.objects.filter(public_id=authorised["id"]).update(
        created_at=F("created_at") - timedelta(days=1)
    )
    stuck = Payment.objects.get(public_id=day.web_sale["id"])
    Payment.objects.filter(pk=stuck.pk).update(status=Payment.Status.AUTHORIZING)
    web = by_till(compute(day, store=False))["web"]
    with pytest.raises(SettlementPaymentsPending) as error:
        settlement_reconcile(settlement=web, actor=ACTOR, reason="ok")
    assert error.value.status == 409
    assert error.value.meta["payments"] == [day.web_sale["id"], authorised["id"]]
    assert Settlement.objects.get(pk=web.pk).status == "open"


def test_a_refund_after_reconciliation_lands_in_the_next_open_day(day: Day) -> None:
    day = day_ended(day)
    web = by_till(compute(day, store=False))["web"]
    settlement_reconcile(settlement=web, actor=ACTOR, reason="")
    refund = post(day.shop.web, f"payments/{day.web_sale['id']}/refunds", {"amount": money("7.00")})
    # Asked for just before the day's end, completed after its reconciliation: late.
    _, end = day_window(zone="UTC", business_day=day.business_day)
    Refund.objects.filter(public_id=refund["id"]).update(created_at=end - timedelta(minutes=1))
    tomorrow = day.business_day + timedelta(days=1)
    for _ in range(2):  # recomputing claims it once
        next_day = by_till(compute(day, store=False, business_day=tomorrow))["web"]
        adjustment = next_day.lines.get()
        assert (adjustment.kind, adjustment.adjusts_id, adjustment.method) == (
            "adjustment",
            web.pk,
            "card",
        )
        assert (adjustment.refunds.amount, adjustment.net.amount) == (7, -7)
        assert next_day.adjustments.count() == 1
    assert lines(Settlement.objects.get(pk=web.pk))["card"] == ("35.00", "20.00", "15.00")


def test_the_business_day_is_the_store_zone_day() -> None:
    from datetime import UTC, date, datetime

    start, end = day_window(zone="Europe/Amsterdam", business_day=date(2026, 7, 1))
    assert start.astimezone(UTC) == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=24)


def test_an_offline_sale_replayed_into_a_reconciled_day_is_an_adjustment(day: Day) -> None:
    day = day_ended(day)
    t2 = by_till(compute(day))["T2"]
    settlement_reconcile(settlement=t2, actor=ACTOR, reason="")
    replayed = post(
        day.till2_api,
        "payments",
        {
            "amount": money("9.00"),
            "tenders": [{"method": "cash"}],
            "capture": True,
            "offline": True,
            "occurred_at": (t2.computed_at - timedelta(days=1)).isoformat(),  # made that day
        },
    )
    assert replayed["offline"] is True
    tomorrow = by_till(compute(day, business_day=day.business_day + timedelta(days=1)))["T2"]
    (line,) = tomorrow.lines.all()
    assert (line.kind, line.adjusts_id, line.method, line.sales.amount) == (
        "adjustment",
        t2.pk,
        "cash",
        Decimal("9.00"),
    )
    assert lines(Settlement.objects.get(pk=t2.pk))["cash"] == ("27.00", "0.00", "27.00")


def test_the_nightly_task_computes_yesterday_in_each_store_zone(day: Day) -> None:
    from reconciliation.tasks import settlements_compute_yesterday

    yesterday = day.business_day - timedelta(days=1)
    shift = timedelta(days=1)
    for payment in Payment.objects.filter(terminal=day.till2):
        Payment.objects.filter(pk=payment.pk).update(
            created_at=payment.created_at - shift,
            captured_at=payment.captured_at and payment.captured_at - shift,
            occurred_at=payment.occurred_at and payment.occurred_at - shift,
        )
    assert settlements_compute_yesterday.delay().get() >= 1
    rows = Settlement.objects.filter(business_day=yesterday)
    assert {row.till_label for row in rows} == {"T2"}
    assert lines(rows.get())["cash"] == ("27.00", "0.00", "27.00")
    start, end = day_window(zone="UTC", business_day=yesterday)
    for made in Payment.objects.filter(terminal=day.till2).values_list("created_at", flat=True):
        assert start <= made < end


def test_an_offline_gift_card_shortfall_is_counted_and_open_ones_are_differences(
    day: Day,
) -> None:
    offline_float_fund(merchant=day.shop.merchant, amount=Money("500.00", "EUR"), actor=ACTOR)
    post(day.till2_api, "tills/offline-allowance", {"amount": money("100.00")})
    card = issue_card(day.shop.merchant, "10.00", pin="1234")
    post(
        day.till2_api,
        "payments",
        {
            "amount": money("30.00"),
            "tenders": [{"method": "offline_gift_card", "code": card.code, "pin": "1234"}],
            "capture": True,
            "offline": True,
            "occurred_at": timezone.now().isoformat(),
        },
    )
    t2 = by_till(compute(day))["T2"]
    assert lines(t2)["offline_gift_card"] == ("30.00", "0.00", "30.00")
    assert (t2.offline_count, t2.shortfalls_count, t2.shortfalls_open.amount) == (2, 1, 20)
    assert {"code": "offline_shortfall", "amount": "20.00", "detail": "still open"} in (
        t2.differences
    )
    offline_shortfall_resolve(
        shortfall=OfflineShortfall.objects.get(),
        status=OfflineShortfall.Status.RECOVERED,
        reason="paid at the counter",
        actor=ACTOR,
    )
    t2 = by_till(compute(day))["T2"]
    assert (t2.shortfalls_count, t2.shortfalls_open.amount, t2.differences) == (1, 0, [])
