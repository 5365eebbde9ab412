"""Back office: the stored-value liability snapshots, read-only, exported as CSV for finance.

Seen by whoever holds the model's view permission (a finance role), not by every staff user;
the figures are Decimals, and text cells are defused against spreadsheet formulas."""

import csv
from decimal import Decimal

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdmin
from config.money import quantum
from wallet.models import LiabilitySnapshot

CSV_COLUMNS = (
    "merchant",
    "currency",
    "day",
    "gift_card_issued",
    "gift_card_redeemed",
    "gift_card_breakage",
    "gift_card_adjusted",
    "gift_card_outstanding",
    "gift_card_held",
    "voucher_funding_used",
    "voucher_funding_held",
    "points_outstanding",
    "points_held",
    "points_expired",
    "point_value",
    "points_value",
    "breakage_recognised",
    "deferred_revenue",
)


# A text cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """Text as a spreadsheet shows it, never runs it: a formula-like start is quoted with '."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _in_currency(snapshot: LiabilitySnapshot, amount: Decimal) -> Decimal:
    """At the currency's precision (the snapshot keeps the ledger's four places)."""
    return amount.quantize(quantum(snapshot.currency))


@admin.register(LiabilitySnapshot)
class LiabilitySnapshotAdmin(ReadOnlyAdmin):
    list_display = (
        "day",
        "merchant",
        "currency",
        "gift_cards_outstanding",
        "gift_card_breakage_",
        "points_outstanding",
        "points_value_",
        "voucher_discounts",
        "breakage",
        "deferred_revenue_",
    )
    list_filter = ("merchant", "currency")
    date_hierarchy = "day"
    list_select_related = ("merchant",)
    actions = ["export_csv"]

    @admin.display(description=_("gift cards outstanding"))
    def gift_cards_outstanding(self, snapshot: LiabilitySnapshot) -> Decimal:
        return _in_currency(snapshot, snapshot.gift_card_outstanding)

    @admin.display(description=_("gift card breakage"))
    def gift_card_breakage_(self, snapshot: LiabilitySnapshot) -> Decimal:
        return _in_currency(snapshot, snapshot.gift_card_breakage)

    @admin.display(description=_("points value"))
    def points_value_(self, snapshot: LiabilitySnapshot) -> Decimal:
        return _in_currency(snapshot, snapshot.points_value)

    @admin.display(description=_("voucher discounts granted"))
    def voucher_discounts(self, snapshot: LiabilitySnapshot) -> Decimal:
        return _in_currency(snapshot, snapshot.voucher_funding_used)

    @admin.display(description=_("breakage recognised"))
    def breakage(self, snapshot: LiabilitySnapshot) -> Decimal:
        return _in_currency(snapshot, snapshot.breakage_recognised)

    @admin.display(description=_("deferred revenue"))
    def deferred_revenue_(self, snapshot: LiabilitySnapshot) -> Decimal:
        return _in_currency(snapshot, snapshot.deferred_revenue)

    @admin.action(description=_("Export the selected snapshots as CSV"))
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[LiabilitySnapshot]
    ) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"liability-{timezone.localdate():%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for snapshot in queryset.select_related("merchant").order_by(
            "merchant_id", "currency", "day"
        ):
            writer.writerow(
                [
                    csv_text(snapshot.merchant.name),
                    csv_text(snapshot.currency),
                    *(getattr(snapshot, c) for c in CSV_COLUMNS[2:]),
                ]
            )
        return response
