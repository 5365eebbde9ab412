"""The figures of one settlement row beside its lines: the drawer, the external terminal,
offline sales and shortfalls, external refunds, and what Stripe booked; each mismatch is
appended to the row's differences."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from moneyed import Money

from payments.models import Tender
from payments.stripe_reconcile import StripeMatchReport
from reconciliation import selectors
from reconciliation.models import Settlement
from reconciliation.selectors import RefundRow, SaleRow, Scope
from tills.models import OfflineShortfall, TillSession

ZERO = Decimal("0.00")
CARD = Tender.Method.CARD
EXTERNAL = Tender.Method.EXTERNAL_CARD


@dataclass
class Line:
    sales: Decimal = ZERO
    refunds: Decimal = ZERO
    sales_count: int = 0
    refunds_count: int = 0


@dataclass
class Figures:
    lines: dict[tuple[str, int | None], Line] = field(default_factory=lambda: defaultdict(Line))
    claims: list[tuple[int, int | None, int | None]] = field(default_factory=list)


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


def cash_figures(
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


def day_net(figures: Figures, method: str) -> Decimal:
    line = figures.lines.get((method, None))
    return line.sales - line.refunds if line is not None else ZERO


def external_figures(
    settlement: Settlement, figures: Figures, differences: list[dict[str, str]]
) -> None:
    """The external terminal's total, as the till declared it at close, against the tenders."""
    recorded = day_net(figures, EXTERNAL)
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


def offline_figures(
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


def external_refund_figures(refunds: list[RefundRow], differences: list[dict[str, str]]) -> None:
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


def card_figures(
    settlement: Settlement,
    scope: Scope,
    report: StripeMatchReport | None,
    figures: Figures,
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
    # This merchant's transactions naming no tender (its `kassa_merchant` metadata, but ids
    # Kassa never recorded) are listed on its web row, not added to its figures. Transactions
    # naming no merchant are in no merchant's report (payments.stripe_reconcile).
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
        "kassa": sorted(  # the tenders' public ids, as the API shows them everywhere
            str(public_id)
            for public_id in Tender.objects.filter(pk__in=unmatched_kassa).values_list(
                "public_id", flat=True
            )
        ),
        "stripe": unmatched_stripe + [_stripe_id(item) for item in orphans],
    }
    recorded = day_net(figures, CARD)
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
                "detail": f"{len(orphans)} Stripe transactions of the merchant name no tender",
            }
        )


def _stripe_id(item: dict[str, Any]) -> str:
    return str(item.get("balance_transaction_id") or item.get("id") or "")


def _stripe_currency(item: dict[str, Any]) -> str:
    gross = item.get("gross")
    if isinstance(gross, Money):
        return str(gross.currency.code)
    return str(item.get("currency", "")).upper()


def stripe_alone(report: StripeMatchReport | None) -> list[dict[str, Any]]:
    return list(report.unmatched_stripe) if report is not None else []


def orphan_currencies(report: StripeMatchReport | None) -> set[str]:
    """Currencies of Stripe's transactions that name no Kassa tender at all."""
    return {_stripe_currency(i) for i in stripe_alone(report) if not i.get("tender_id")} - {""}
