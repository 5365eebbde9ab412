"""Settlements: compute a store's business day per till and currency, close it, reconcile it.

Compute is idempotent: it rewrites the open or closed rows of the day from the payments, refunds
and till sessions (and Stripe's report, fetched before the transaction: it is a network call).
A reconciled row is locked; a sale or refund that reaches its day afterwards (a late capture,
an offline replay, a refund asked for after the reconciliation) is claimed once, as an
adjustment line, by the next open settlement of the same till and currency. A refund given on
an open day for a sale of a locked day is an adjustment line of that open day too.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from moneyed import Money

from config.errors import KassaError
from merchants.models import Merchant, Store
from payments.models import Tender
from reconciliation import selectors
from reconciliation.errors import (
    SettlementAlreadyClosed,
    SettlementLocked,
    SettlementPaymentsPending,
    SettlementReasonRequired,
)
from reconciliation.models import Settlement, SettlementAdjustment, SettlementLine
from reconciliation.selectors import (
    RefundRow,
    SaleRow,
    Scope,
    day_window,
    day_zone,
    local_day,
    same_or_null,
)
from reconciliation.stripe_figures import stripe_report
from tills.models import OfflineShortfall, TillSession

ZERO = Decimal("0.00")
CARD = Tender.Method.CARD
EXTERNAL = Tender.Method.EXTERNAL_CARD


@dataclass
class _Line:
    sales: Decimal = ZERO
    refunds: Decimal = ZERO
    sales_count: int = 0
    refunds_count: int = 0


@dataclass
class _Figures:
    lines: dict[tuple[str, int | None], _Line] = field(default_factory=lambda: defaultdict(_Line))
    claims: list[tuple[int, int | None, int | None]] = field(default_factory=list)


def settlement_compute(
    *, merchant: Merchant, store: Store | None, business_day: date, match_stripe: bool = True
) -> list[Settlement]:
    """Compute (or recompute) every till's settlement of the store's day; `store=None` is the
    merchant's web shop. Rows already reconciled are returned unchanged."""
    zone = day_zone(store)
    start, end = day_window(zone=zone, business_day=business_day)
    report, stripe_error = None, ""
    if match_stripe:
        try:
            report = stripe_report(merchant=merchant, since=start, until=end)
        except KassaError as error:  # Stripe out of reach: the rest is still worth computing
            stripe_error = error.code
    keys = selectors.settlement_keys(
        merchant=merchant, store=store, business_day=business_day, start=start, end=end
    )
    if report is not None:  # Stripe's transactions alone show on their till's row, or the web's
        keys |= selectors.tender_keys(
            merchant=merchant,
            store=store,
            tender_ids={i["tender_id"] for i in report.unmatched_stripe if i.get("tender_id")},
        )
        if store is None:
            keys |= {(None, currency) for currency in _orphan_currencies(report)}
    rows = [
        _compute_one(
            merchant=merchant,
            store=store,
            terminal_id=terminal_id,
            currency=currency,
            business_day=business_day,
            zone=zone,
            report=report,
            stripe_error=stripe_error,
        )
        for terminal_id, currency in sorted(keys, key=lambda key: (key[0] or 0, key[1]))
    ]
    return [row for row in rows if row is not None]


@transaction.atomic
def _compute_one(
    *,
    merchant: Merchant,
    store: Store | None,
    terminal_id: int | None,
    currency: str,
    business_day: date,
    zone: str,
    report: Any | None,
    stripe_error: str = "",
) -> Settlement | None:
    """One till's (or the web shop's) row, written under a lock on its store (or merchant):
    two computes of one store's day take turns. A row with nothing to show is not created."""
    if store is not None:
        Store.objects.select_for_update(of=("self",)).order_by("pk").get(pk=store.pk)
    else:
        Merchant.objects.select_for_update(of=("self",)).order_by("pk").get(pk=merchant.pk)
    now = timezone.now()
    key = {
        "merchant": merchant,
        "store": store,
        "terminal_id": terminal_id,
        "business_day": business_day,
        "currency": currency,
    }
    existing = Settlement.objects.filter(**key).first()
    if existing is not None and existing.is_locked:
        return existing
    settlement = existing or Settlement(**key)
    start, end = day_window(zone=zone, business_day=business_day)
    scope = Scope(merchant=merchant, store=store, terminal_id=terminal_id, currency=currency)
    sales = selectors.sale_rows(scope=scope, made=(start, end))
    refunds = selectors.refund_rows(scope=scope, made=(start, end))
    figures = _Figures()
    locked = _locked_days(settlement)
    _add_day(figures, sales, refunds, locked, zone)
    _add_late(figures, settlement, scope, locked, start, end, zone)
    differences: list[dict[str, str]] = []
    _cash(settlement, differences, start, end)
    stripe_only = any(
        key == (terminal_id, currency)
        for key in selectors.tender_keys(
            merchant=merchant,
            store=store,
            tender_ids={i["tender_id"] for i in _alone(report) if i.get("tender_id")},
        )
    ) or (store is None and currency in _orphan_currencies(report))
    if existing is None and not figures.lines and not settlement.sessions_count and not stripe_only:
        return None
    _external(settlement, figures, differences)
    _offline(settlement, sales, differences)
    _external_refunds(refunds, differences)
    _card(settlement, scope, report, figures, differences)
    if stripe_error and _day_net(figures, CARD):
        differences.append({"code": "card_not_matched", "amount": "", "detail": stripe_error})
    settlement.timezone = zone
    settlement.differences = differences
    settlement.computed_at = now
    settlement.save()

    settlement.lines.all().delete()
    settlement.adjustments.all().delete()
    SettlementLine.objects.bulk_create(
        SettlementLine(
            settlement=settlement,
            method=method,
            kind=SettlementLine.Kind.ADJUSTMENT if adjusts else SettlementLine.Kind.DAY,
            adjusts_id=adjusts,
            sales=Money(line.sales, currency),
            refunds=Money(line.refunds, currency),
            net=Money(line.sales - line.refunds, currency),
            sales_count=line.sales_count,
            refunds_count=line.refunds_count,
        )
        for (method, adjusts), line in sorted(
            figures.lines.items(), key=lambda item: (item[0][1] or 0, item[0][0])
        )
    )
    SettlementAdjustment.objects.bulk_create(
        SettlementAdjustment(
            settlement=settlement, adjusts_id=adjusts, tender_id=tender, refund_allocation_id=alloc
        )
        for adjusts, tender, alloc in figures.claims
    )
    return settlement


def _locked_days(settlement: Settlement) -> dict[date, Settlement]:
    """The same till's and currency's reconciled days before this one."""
    rows = Settlement.objects.filter(
        same_or_null("store_id", settlement.store_id)
        & same_or_null("terminal_id", settlement.terminal_id),
        merchant_id=settlement.merchant_id,
        currency=settlement.currency,
        business_day__lt=settlement.business_day,
        status__in=Settlement.LOCKED,
    )
    return {row.business_day: row for row in rows}


def _add_day(
    figures: _Figures,
    sales: list[SaleRow],
    refunds: list[RefundRow],
    locked: dict[date, Settlement],
    zone: str,
) -> None:
    for sale in sales:
        line = figures.lines[(sale.method, None)]
        line.sales += sale.amount
        line.sales_count += 1
    for refund in refunds:
        sold_on = locked.get(local_day(refund.sale_made_at, zone))
        line = figures.lines[(refund.method, sold_on.pk if sold_on else None)]
        line.refunds += refund.amount
        line.refunds_count += 1


def _add_late(
    figures: _Figures,
    settlement: Settlement,
    scope: Scope,
    locked: dict[date, Settlement],
    start: datetime,
    end: datetime,
    zone: str,
) -> None:
    """Sales and refunds of locked days recorded after those days were last computed."""
    if not locked:
        return
    since = start - selectors.LATE_LOOKBACK
    tenders, allocations = selectors.claimed_elsewhere(settlement=settlement)
    for sale in selectors.sale_rows(scope=scope, made_before=start, created_since=since):
        day = locked.get(local_day(sale.made_at, zone))
        if day is None or sale.recorded_at <= day.computed_at or sale.recorded_at >= end:
            continue
        if sale.tender_id in tenders:
            continue
        line = figures.lines[(sale.method, day.pk)]
        line.sales += sale.amount
        line.sales_count += 1
        figures.claims.append((day.pk, sale.tender_id, None))
    for refund in selectors.refund_rows(scope=scope, made_before=start, created_since=since):
        day = locked.get(local_day(refund.made_at, zone))
        if day is None or refund.recorded_at <= day.computed_at or refund.recorded_at >= end:
            continue
        if refund.allocation_id in allocations:
            continue
        line = figures.lines[(refund.method, day.pk)]
        line.refunds += refund.amount
        line.refunds_count += 1
        figures.claims.append((day.pk, None, refund.allocation_id))


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


def _cash(
    settlement: Settlement, differences: list[dict[str, str]], start: datetime, end: datetime
) -> None:
    """The drawer sessions opened that day: expected, counted and variance of those closed."""
    if settlement.terminal_id is None:
        return
    sessions = TillSession.objects.filter(
        terminal_id=settlement.terminal_id,
        opened_at__gte=start,
        opened_at__lt=end,
        float_amount_currency=settlement.currency,
    )
    closed = sessions.filter(status=TillSession.Status.CLOSED)
    totals = closed.aggregate(
        expected=Sum("expected_amount"),
        counted=Sum("counted_amount"),
        variance=Sum("variance_amount"),
        declared=Sum("external_card_declared"),
    )
    currency = settlement.currency
    settlement.sessions_count = sessions.count()
    settlement.sessions_open = settlement.sessions_count - closed.count()
    settlement.cash_expected = _money(totals["expected"], currency)
    settlement.cash_counted = _money(totals["counted"], currency)
    settlement.cash_variance = _money(totals["variance"], currency)
    settlement.external_declared = _money(totals["declared"], currency)
    if settlement.sessions_open:
        differences.append(
            {"code": "session_open", "amount": "", "detail": f"{settlement.sessions_open} open"}
        )
    if totals["variance"]:
        differences.append(
            {
                "code": "cash_variance",
                "amount": str(totals["variance"]),
                "detail": "counted - expected",
            }
        )


def _day_net(figures: _Figures, method: str) -> Decimal:
    line = figures.lines.get((method, None))
    return line.sales - line.refunds if line is not None else ZERO


def _external(settlement: Settlement, figures: _Figures, differences: list[dict[str, str]]) -> None:
    """The external terminal's total, as the till declared it at close, against the tenders."""
    recorded = _day_net(figures, EXTERNAL)
    settlement.external_recorded = Money(recorded, settlement.currency)
    declared = settlement.external_declared
    if declared is not None and declared.amount != recorded:
        differences.append(
            {
                "code": "external_card_variance",
                "amount": str(declared.amount - recorded),
                "detail": "declared - recorded",
            }
        )


def _offline(
    settlement: Settlement, sales: list[SaleRow], differences: list[dict[str, str]]
) -> None:
    """Offline sales replayed for the day; a gift card shortfall still open is a difference."""
    offline = [sale for sale in sales if sale.offline]
    late = {sale.payment_id for sale in offline if sale.offline_late}
    settlement.offline_count = len({sale.payment_id for sale in offline})
    settlement.offline_late_count = len(late)
    settlement.offline_total = Money(sum((s.amount for s in offline), ZERO), settlement.currency)
    if late:
        late_total = sum((s.amount for s in offline if s.payment_id in late), ZERO)
        differences.append(
            {"code": "offline_late", "amount": str(late_total), "detail": f"{len(late)} late"}
        )
    shortfalls = OfflineShortfall.objects.filter(
        tender__pk__in=[sale.tender_id for sale in offline], amount_currency=settlement.currency
    )
    settlement.shortfalls_count = shortfalls.count()
    still_open = (
        shortfalls.filter(status=OfflineShortfall.Status.OPEN).aggregate(total=Sum("amount"))[
            "total"
        ]
        or ZERO
    )
    settlement.shortfalls_open = Money(still_open, settlement.currency)
    if still_open:
        differences.append(
            {"code": "offline_shortfall", "amount": str(still_open), "detail": "still open"}
        )


def _external_refunds(refunds: list[RefundRow], differences: list[dict[str, str]]) -> None:
    """Refunds made at Stripe (its dashboard), recorded from the webhook: nobody at the till or
    in the back office gave them, so they are looked at."""
    external = [refund for refund in refunds if refund.external]
    if external:
        differences.append(
            {
                "code": "external_refund",
                "amount": str(sum((refund.amount for refund in external), ZERO)),
                "detail": f"{len({refund.refund_id for refund in external})} made at Stripe",
            }
        )


def _card(
    settlement: Settlement,
    scope: Scope,
    report: Any | None,
    figures: _Figures,
    differences: list[dict[str, str]],
) -> None:
    """What Stripe booked in the day's window for this till's (or the web shop's) card tenders:
    gross, fee, net, payouts, against Kassa's card net of the day. Stripe's transactions that
    match no Kassa charge or refund count too (a refund made in the dashboard), on the row of
    their tender, else on the web row; what either side has alone is a difference."""
    currency = settlement.currency
    if report is None:
        settlement.card_gross = settlement.card_fee = settlement.card_net = None
        settlement.payouts, settlement.stripe_unmatched = [], {}
        return
    named = {m.tender_id for m in report.matched if m.tender_id}
    named |= {item["tender_id"] for item in report.unmatched_stripe if item.get("tender_id")}
    named |= set(report.unmatched_kassa)
    mine = selectors.tenders_in_scope(scope=scope, tender_ids=named)
    matched = [m for m in report.matched if m.tender_id in mine]
    alone = [
        item
        for item in report.unmatched_stripe
        if item.get("tender_id") in mine and _stripe_currency(item) == currency
    ]
    # Transactions naming no tender at all (a charge made in the dashboard) are listed on the
    # web row, not added to its figures: one Stripe account may serve several merchants.
    orphans = [
        item
        for item in report.unmatched_stripe
        if not item.get("tender_id")
        and settlement.store_id is None
        and _stripe_currency(item) == currency
    ]
    booked = [(m.gross, m.fee, m.net) for m in matched] + [
        (item["gross"], item["fee"], item["net"]) for item in alone
    ]
    gross, fee, net = (
        sum((row[i].amount for row in booked if row[i].currency.code == currency), ZERO)
        for i in range(3)
    )
    settlement.card_gross = Money(gross, currency)
    settlement.card_fee = Money(fee, currency)
    settlement.card_net = Money(net, currency)
    payouts = {m.payout_id for m in matched} | {item.get("payout_id") for item in alone}
    settlement.payouts = sorted(p for p in payouts if p)
    unmatched_kassa = sorted(set(report.unmatched_kassa) & mine)
    unmatched_stripe = [_stripe_id(item) for item in alone]
    settlement.stripe_unmatched = {
        "kassa": unmatched_kassa,
        "stripe": unmatched_stripe + [_stripe_id(item) for item in orphans],
    }
    recorded = _day_net(figures, CARD)
    if gross != recorded:
        differences.append(
            {"code": "card_variance", "amount": str(gross - recorded), "detail": "Stripe - Kassa"}
        )
    if unmatched_kassa or unmatched_stripe:
        differences.append(
            {
                "code": "card_unmatched",
                "amount": "",
                "detail": f"{len(unmatched_kassa)} Kassa, {len(unmatched_stripe)} Stripe",
            }
        )
    if orphans:
        differences.append(
            {
                "code": "stripe_orphans",
                "amount": str(sum((i["gross"].amount for i in orphans), ZERO)),
                "detail": f"{len(orphans)} Stripe transactions name no Kassa tender",
            }
        )


def _stripe_id(item: dict[str, Any]) -> str:
    return str(item.get("balance_transaction_id") or item.get("id") or "")


def _stripe_currency(item: dict[str, Any]) -> str:
    gross = item.get("gross")
    if isinstance(gross, Money):
        return str(gross.currency.code)
    return str(item.get("currency", "")).upper()


def _alone(report: Any | None) -> list[dict[str, Any]]:
    return list(report.unmatched_stripe) if report is not None else []


def _orphan_currencies(report: Any | None) -> set[str]:
    """Currencies of Stripe's transactions that name no Kassa tender at all."""
    return {_stripe_currency(i) for i in _alone(report) if not i.get("tender_id")} - {""}


def _locked_for_update(settlement: Settlement) -> Settlement:
    return Settlement.objects.select_for_update(of=("self",)).order_by("pk").get(pk=settlement.pk)


@transaction.atomic
def settlement_close(*, settlement: Settlement, actor: str) -> Settlement:
    """The day's figures are final as far as the store is concerned; closing twice is a
    conflict."""
    settlement = _locked_for_update(settlement)
    if settlement.is_locked:
        raise SettlementLocked()
    if settlement.status == Settlement.Status.CLOSED:
        raise SettlementAlreadyClosed()
    settlement.status = Settlement.Status.CLOSED
    settlement.closed_at = timezone.now()
    settlement.closed_by = actor
    settlement.save(update_fields=["status", "closed_at", "closed_by"])
    return settlement


@transaction.atomic
def settlement_reconcile(*, settlement: Settlement, actor: str, reason: str = "") -> Settlement:
    """Accept the day (closing it if open): differences need a reason; a payment or refund of
    the day still moving refuses it, listing them. The row is locked from then on."""
    settlement = _locked_for_update(settlement)
    if settlement.is_locked:
        raise SettlementLocked()
    start, end = day_window(zone=settlement.timezone, business_day=settlement.business_day)
    pending = selectors.pending_payments(settlement=settlement, start=start, end=end)
    if pending:
        raise SettlementPaymentsPending(
            f"{len(pending)} payment(s) of the day are not final yet.", meta={"payments": pending}
        )
    reason = reason.strip()
    if settlement.differences and not reason:
        raise SettlementReasonRequired(field="reason")
    now = timezone.now()
    if settlement.status == Settlement.Status.OPEN:
        settlement.closed_at, settlement.closed_by = now, actor
    settlement.status = (
        Settlement.Status.RECONCILED_WITH_DIFFERENCES
        if settlement.differences
        else Settlement.Status.RECONCILED
    )
    settlement.reconciled_at = now
    settlement.accepted_by = actor
    settlement.reason = reason
    settlement.save()
    return settlement


def settlements_compute_day(*, merchant: Merchant, business_day: date | None = None) -> int:
    """Every store's day (yesterday in each store's zone unless given) and the web shop's."""
    count = 0
    stores: Iterable[Store | None] = [*merchant.stores.order_by("pk"), None]
    for store in stores:
        day = business_day or _yesterday(day_zone(store))
        count += len(settlement_compute(merchant=merchant, store=store, business_day=day))
    return count


def _yesterday(zone: str) -> date:
    return local_day(timezone.now(), zone) - timedelta(days=1)
