"""Settlements: compute a store's business day per till and currency, close it, reconcile it.

Compute is idempotent: it rewrites the open or closed rows of the day from the payments, refunds
and till sessions (and Stripe's report, fetched before the transaction: it is a network call).
A reconciled row is locked; a sale or refund that reaches its day afterwards (a late capture,
an offline replay, a refund asked for after the reconciliation) is claimed once, as an
adjustment line, by the next open settlement of the same till and currency. A refund given on
an open day for a sale of a locked day is an adjustment line of that open day too.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from config.errors import KassaError
from merchants.models import Merchant, Store
from payments.stripe_reconcile import StripeMatchReport, stripe_balance_match
from reconciliation import selectors
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
from reconciliation.services.figures import (
    CARD,
    Figures,
    card_figures,
    cash_figures,
    day_net,
    external_figures,
    external_refund_figures,
    offline_figures,
    orphan_currencies,
    stripe_alone,
)

# What a compute writes: every field but the key, the status and who closed or accepted the day.
FIGURE_FIELDS = [
    field.name
    for field in Settlement._meta.concrete_fields
    if field.name
    not in {
        "id",
        "public_id",
        "merchant",
        "store",
        "terminal",
        "business_day",
        "currency",
        "status",
        "closed_at",
        "closed_by",
        "reconciled_at",
        "accepted_by",
        "reason",
    }
]


@dataclass(frozen=True)
class StripeDay:
    """Stripe's report of one day window, or why there is none (the error's code)."""

    report: StripeMatchReport | None
    error: str = ""


def stripe_day(*, merchant: Merchant, start: datetime, end: datetime) -> StripeDay:
    """Stripe's balance transactions of [start, end) matched for the merchant: a network call,
    made outside any transaction; Stripe out of reach leaves the rest worth computing."""
    try:
        return StripeDay(stripe_balance_match(merchant=merchant, since=start, until=end))
    except KassaError as error:
        return StripeDay(None, error.code)


def settlement_compute(
    *,
    merchant: Merchant,
    store: Store | None,
    business_day: date,
    match_stripe: bool = True,
    stripe: StripeDay | None = None,
) -> list[Settlement]:
    """Compute (or recompute) every till's settlement of the store's day; `store=None` is the
    merchant's web shop. Rows already reconciled are returned unchanged. `stripe`, Stripe's
    report of the same day window, spares listing Stripe again (settlements_compute_day)."""
    zone = day_zone(store)
    start, end = day_window(zone=zone, business_day=business_day)
    if not match_stripe:
        stripe = None
    elif stripe is None:
        stripe = stripe_day(merchant=merchant, start=start, end=end)
    report = stripe.report if stripe is not None else None
    stripe_error = stripe.error if stripe is not None else ""
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
            keys |= {(None, currency) for currency in orphan_currencies(report)}
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
    report: StripeMatchReport | None,
    stripe_error: str = "",
) -> Settlement | None:
    """One till's (or the web shop's) row, written under a lock on its store (or merchant):
    two computes of one store's day take turns. The row itself is locked too, and its status
    read inside that lock: a close or reconcile committed meanwhile is seen, never undone
    (the figures are saved without the status, close and reconcile fields). A row with
    nothing to show is not created."""
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
    existing = (
        Settlement.objects.select_for_update(of=("self",)).filter(**key).order_by("pk").first()
    )
    if existing is not None and existing.is_locked:
        return existing
    settlement = existing or Settlement(**key)
    start, end = day_window(zone=zone, business_day=business_day)
    scope = Scope(merchant=merchant, store=store, terminal_id=terminal_id, currency=currency)
    sales = selectors.sale_rows(scope=scope, made=(start, end))
    refunds = selectors.refund_rows(scope=scope, made=(start, end))
    figures = Figures()
    locked = _locked_days(settlement)
    _add_day(figures, sales, refunds, locked, zone)
    _add_late(figures, settlement, scope, locked, start, end, zone)
    differences: list[dict[str, str]] = []
    cash_figures(settlement, differences, start, end)
    stripe_only = any(
        key == (terminal_id, currency)
        for key in selectors.tender_keys(
            merchant=merchant,
            store=store,
            tender_ids={i["tender_id"] for i in stripe_alone(report) if i.get("tender_id")},
        )
    ) or (store is None and currency in orphan_currencies(report))
    if existing is None and not figures.lines and not settlement.sessions_count and not stripe_only:
        return None
    external_figures(settlement, figures, differences)
    offline_figures(settlement, sales, differences)
    external_refund_figures(refunds, differences)
    card_figures(settlement, scope, report, figures, differences)
    if stripe_error and day_net(figures, CARD):
        differences.append({"code": "card_not_matched", "amount": "", "detail": stripe_error})
    settlement.timezone = zone
    settlement.differences = differences
    settlement.computed_at = now
    if existing is None:
        settlement.save()
    else:
        settlement.save(update_fields=FIGURE_FIELDS)

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
    figures: Figures,
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
    figures: Figures,
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
        day = _late_for(sale, locked, zone, end)
        if day is not None and sale.tender_id not in tenders:
            line = figures.lines[(sale.method, day.pk)]
            line.sales += sale.amount
            line.sales_count += 1
            figures.claims.append((day.pk, sale.tender_id, None))
    for refund in selectors.refund_rows(scope=scope, made_before=start, created_since=since):
        day = _late_for(refund, locked, zone, end)
        if day is not None and refund.allocation_id not in allocations:
            line = figures.lines[(refund.method, day.pk)]
            line.refunds += refund.amount
            line.refunds_count += 1
            figures.claims.append((day.pk, None, refund.allocation_id))


def _late_for(
    row: SaleRow | RefundRow, locked: dict[date, Settlement], zone: str, end: datetime
) -> Settlement | None:
    """The locked day a sale or refund belongs to, if it was recorded after that day was last
    computed (and before this day's end)."""
    day = locked.get(local_day(row.made_at, zone))
    if day is None or not day.computed_at < row.recorded_at < end:
        return None
    return day


def settlements_compute_day(*, merchant: Merchant, business_day: date | None = None) -> int:
    """Every store's day (yesterday in each store's zone unless given) and the web shop's.
    Stripe is listed once per day window, however many stores share it."""
    count = 0
    stripe: dict[tuple[datetime, datetime], StripeDay] = {}
    stores: Iterable[Store | None] = [*merchant.stores.order_by("pk"), None]
    for store in stores:
        zone = day_zone(store)
        day = business_day or _yesterday(zone)
        window = day_window(zone=zone, business_day=day)
        if window not in stripe:
            stripe[window] = stripe_day(merchant=merchant, start=window[0], end=window[1])
        count += len(
            settlement_compute(
                merchant=merchant, store=store, business_day=day, stripe=stripe[window]
            )
        )
    return count


def _yesterday(zone: str) -> date:
    return local_day(timezone.now(), zone) - timedelta(days=1)
