"""What the reconciliation page and its exports show, built from the filtered settlements: the
till-by-day grid, two server-drawn SVG charts (tender mix, variances), and the export rows."""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from payments.models import Tender
from reconciliation.models import Settlement

# A colour per method (contrast-checked against white, and always with a text legend).
METHOD_COLOURS: dict[str, str] = {
    Tender.Method.CASH: "#1b5e20",
    Tender.Method.CARD: "#0d47a1",
    Tender.Method.EXTERNAL_CARD: "#4a148c",
    Tender.Method.GIFT_CARD: "#b71c1c",
    Tender.Method.VOUCHER: "#e65100",
    Tender.Method.LOYALTY_POINTS: "#37474f",
}
OTHER_COLOUR = "#424242"
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 220, 40
MAX_GRID_DAYS = 62


@dataclass
class Cell:
    settlement: Settlement | None
    net: Decimal = Decimal("0")


@dataclass
class GridRow:
    label: str
    cells: list[Cell] = field(default_factory=list)


def grid(settlements: list[Settlement], days: list[date]) -> list[GridRow]:
    """One row per merchant's store's till (and web shop) and currency, one cell per day: two
    merchants' rows never share a line, even with the same store and till codes."""
    by_row: dict[tuple[str, int, str, str], dict[date, Settlement]] = defaultdict(dict)
    for row in settlements:
        where = (
            f"{row.store.code} / {row.terminal.code}"
            if row.store is not None and row.terminal is not None
            else _("Web shop")
        )
        key = (row.merchant.name, row.merchant_id, where, row.currency)
        by_row[key][row.business_day] = row
    return [
        GridRow(
            label=f"{merchant} · {where} ({currency})",
            cells=[
                Cell(cells.get(day), _net(cells[day]) if day in cells else Decimal("0"))
                for day in days
            ],
        )
        for (merchant, _pk, where, currency), cells in sorted(by_row.items())
    ]


def _net(settlement: Settlement) -> Decimal:
    return sum((line.net.amount for line in settlement.filtered_lines), Decimal("0"))  # type: ignore[attr-defined]


def grid_days(day_from: date, day_to: date) -> list[date]:
    """The grid's columns, newest last, at most MAX_GRID_DAYS (the exports have every day)."""
    start = max(day_from, day_to - timedelta(days=MAX_GRID_DAYS - 1))
    return [start + timedelta(days=n) for n in range((day_to - start).days + 1)]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Chart:
    currency: str
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    axis_y: float
    top_label: str
    legend: list[tuple[str, str]]


def _by_currency(settlements: list[Settlement]) -> dict[str, list[Settlement]]:
    """Amounts of different currencies are never added together: a chart per currency."""
    groups: dict[str, list[Settlement]] = defaultdict(list)
    for row in settlements:
        groups[row.currency].append(row)
    return dict(sorted(groups.items()))


def _bar(index: int, slot: float, y: float, height: float, colour: str, title: str) -> Bar:
    """The bar of the index-th day's slot."""
    return Bar(
        x=CHART_PAD + index * slot + slot * 0.15,
        y=y,
        width=slot * 0.7,
        height=height,
        colour=colour,
        title=title,
    )


def tender_mix_charts(settlements: list[Settlement], days: list[date]) -> list[Chart]:
    return [
        tender_mix_chart(rows, days, currency)
        for currency, rows in _by_currency(settlements).items()
    ]


def tender_mix_chart(settlements: list[Settlement], days: list[date], currency: str) -> Chart:
    """Stacked bars: each day's sales per method, summed over the rows shown (one currency)."""
    totals: dict[date, dict[str, Decimal]] = {day: defaultdict(Decimal) for day in days}
    for row in settlements:
        if row.business_day in totals:
            for line in row.filtered_lines:  # type: ignore[attr-defined]
                totals[row.business_day][line.method] += line.sales.amount
    peak = max((sum(t.values(), Decimal("0")) for t in totals.values()), default=Decimal("0"))
    scale = _scale(peak)
    slot = (CHART_WIDTH - 2 * CHART_PAD) / max(len(days), 1)
    bars: list[Bar] = []
    for index, day in enumerate(days):
        base = float(CHART_HEIGHT - CHART_PAD)
        for method in _methods(totals):
            amount = totals[day].get(method, Decimal("0"))
            if not amount:
                continue
            height = float(amount) * scale
            base -= height
            colour = METHOD_COLOURS.get(method, OTHER_COLOUR)
            title = f"{day.isoformat()} {_label(method)}: {amount} {currency}"
            bars.append(_bar(index, slot, base, height, colour, title))
    return Chart(
        currency=currency,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        bars=bars,
        labels=_labels(days, slot),
        axis_y=CHART_HEIGHT - CHART_PAD,
        top_label=f"{peak} {currency}",
        legend=[(METHOD_COLOURS.get(m, OTHER_COLOUR), _label(m)) for m in _methods(totals)],
    )


def _methods(totals: dict[date, dict[str, Decimal]]) -> list[str]:
    """The methods sold in the range, known ones in the legend's order, then any other."""
    sold = {method for day in totals.values() for method, amount in day.items() if amount}
    return [m for m in METHOD_COLOURS if m in sold] + sorted(sold - set(METHOD_COLOURS))


def _label(method: str) -> str:
    return str(Tender.Method(method).label) if method in Tender.Method.values else method


def variance_charts(settlements: list[Settlement], days: list[date]) -> list[Chart]:
    return [
        variance_chart(rows, days, currency) for currency, rows in _by_currency(settlements).items()
    ]


def variance_chart(settlements: list[Settlement], days: list[date], currency: str) -> Chart:
    """Each day's cash variance (counted - expected), above or below the zero line."""
    variance: dict[date, Decimal] = defaultdict(Decimal)
    for row in settlements:
        if row.cash_variance is not None:
            variance[row.business_day] += row.cash_variance.amount
    peak = max((abs(v) for v in variance.values()), default=Decimal("0"))
    scale = _scale(peak) / 2
    middle = float(CHART_HEIGHT) / 2
    slot = (CHART_WIDTH - 2 * CHART_PAD) / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        amount = variance.get(day, Decimal("0"))
        if not amount:
            continue
        height = abs(float(amount)) * scale
        over = amount > 0
        bars.append(
            _bar(
                index,
                slot,
                middle - height if over else middle,
                height,
                "#1b5e20" if over else "#b71c1c",
                f"{day.isoformat()}: {amount} {currency}",
            )
        )
    return Chart(
        currency=currency,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        bars=bars,
        labels=_labels(days, slot),
        axis_y=middle,
        top_label=f"±{peak} {currency}",
        legend=[("#1b5e20", _("Over")), ("#b71c1c", _("Short"))],
    )


def _scale(peak: Decimal) -> float:
    return float(CHART_HEIGHT - 2 * CHART_PAD) / float(peak) if peak else 0.0


def _labels(days: list[date], slot: float) -> list[tuple[float, str]]:
    step = max(1, len(days) // 10)
    return [
        (CHART_PAD + index * slot + slot / 2, day.strftime("%d/%m"))
        for index, day in enumerate(days)
        if index % step == 0
    ]


EXPORT_COLUMNS = (
    "business_day",
    "merchant",
    "store",
    "till",
    "currency",
    "status",
    "method",
    "kind",
    "adjusts",
    "sales",
    "refunds",
    "net",
    "sales_count",
    "refunds_count",
    "cash_expected",
    "cash_counted",
    "cash_variance",
    "external_declared",
    "external_recorded",
    "offline_count",
    "offline_total",
    "card_gross",
    "card_fee",
    "card_net",
    "differences",
    "accepted_by",
    "reason",
)


def _amount(value: Any) -> str:
    return "" if value is None else str(value.amount)


def export_rows(settlements: list[Settlement]) -> list[list[str]]:
    """One row per settlement line (a day without lines still has one row)."""
    rows = []
    for s in settlements:
        common = [
            _amount(s.cash_expected),
            _amount(s.cash_counted),
            _amount(s.cash_variance),
            _amount(s.external_declared),
            _amount(s.external_recorded),
            str(s.offline_count),
            _amount(s.offline_total),
            _amount(s.card_gross),
            _amount(s.card_fee),
            _amount(s.card_net),
            "; ".join(f"{d['code']} {d['amount']}".strip() for d in s.differences),
            s.accepted_by,
            s.reason,
        ]
        head = [
            s.business_day.isoformat(),
            s.merchant.name,
            s.store.code if s.store else "",
            s.terminal.code if s.terminal else "web",
            s.currency,
            s.status,
        ]
        lines = s.filtered_lines or [None]  # type: ignore[attr-defined]
        for line in lines:
            figures = (
                [
                    line.method,
                    line.kind,
                    str(line.adjusts.business_day) if line.adjusts else "",
                    str(line.sales.amount),
                    str(line.refunds.amount),
                    str(line.net.amount),
                    str(line.sales_count),
                    str(line.refunds_count),
                ]
                if line is not None
                else ["", "", "", "", "", "", "", ""]
            )
            rows.append(head + figures + common)
    return rows


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(column: str, value: str) -> str:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe; amounts
    (negative ones start with "-") stay numbers."""
    if column in NUMERIC or not value.startswith(FORMULA_STARTS):
        return value
    return f"'{value}"


def export_csv(settlements: list[Settlement]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(
        [_inert(column, value) for column, value in zip(EXPORT_COLUMNS, row, strict=True)]
        for row in export_rows(settlements)
    )
    return out.getvalue()


NUMERIC = {"sales", "refunds", "net", "cash_expected", "cash_counted", "cash_variance"} | {
    "external_declared",
    "external_recorded",
    "offline_total",
    "card_gross",
    "card_fee",
    "card_net",
}


def export_xlsx(settlements: list[Settlement]) -> bytes:
    """Amounts as numbers (Decimal, two places), counts as integers, days as dates."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "settlements"
    sheet.append(list(EXPORT_COLUMNS))
    for row in export_rows(settlements):
        values: list[Any] = []
        for column, value in zip(EXPORT_COLUMNS, row, strict=True):
            if value and column in NUMERIC:
                values.append(Decimal(value))
            elif value and column in ("sales_count", "refunds_count", "offline_count"):
                values.append(int(value))
            elif column == "business_day":
                values.append(date.fromisoformat(value))
            else:
                values.append(_inert(column, value))
        sheet.append(values)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, Decimal):
                cell.number_format = "0.00"
            elif EXPORT_COLUMNS[cell.column - 1] == "business_day":
                cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
