"""Back office: the stored-value liability snapshots, read-only, exported as CSV for finance."""

import csv
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from config.admin import ReadOnlyAdmin
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


@admin.register(LiabilitySnapshot)
class LiabilitySnapshotAdmin(ReadOnlyAdmin):
    list_display = (
        "day",
        "merchant",
        "currency",
        "gift_card_outstanding",
        "gift_card_breakage",
        "points_outstanding",
        "points_value",
        "voucher_funding_used",
        "breakage_recognised",
        "deferred_revenue",
    )
    list_filter = ("merchant", "currency")
    date_hierarchy = "day"
    list_select_related = ("merchant",)
    actions = ["export_csv"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description="Export the selected snapshots as CSV")
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
                [snapshot.merchant.name, *(getattr(snapshot, c) for c in CSV_COLUMNS[1:])]
            )
        return response
