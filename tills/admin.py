from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from config.actors import user_actor
from config.admin import ReadOnlyAdmin, ReadOnlyInline
from tills.models import (
    CashMovement,
    OfflineAllowance,
    OfflineFloat,
    OfflineShortfall,
    TillSession,
)
from tills.offline_value import offline_shortfall_resolve


class CashMovementInline(ReadOnlyInline):
    model = CashMovement
    fields = ("created_at", "kind", "amount", "reason", "actor")


@admin.register(TillSession)
class TillSessionAdmin(ReadOnlyAdmin):
    """Drawer sessions, read-only: tills open, move cash and close through the API."""

    list_display = (
        "public_id",
        "terminal",
        "status",
        "opened_at",
        "closed_at",
        "float_amount",
        "expected_amount",
        "counted_amount",
        "variance_amount",
        "variance_accepted_by",
    )
    list_filter = ("status", "terminal__store", "opened_at")
    list_select_related = ("terminal",)
    inlines = [CashMovementInline]


@admin.register(OfflineFloat)
class OfflineFloatAdmin(ReadOnlyAdmin):
    """Each merchant's offline float per currency (funded through the ledger)."""

    list_display = ("merchant", "currency", "account", "created_at")


@admin.register(OfflineAllowance)
class OfflineAllowanceAdmin(ReadOnlyAdmin):
    """Tills' allowances for gift cards taken offline: holds on the float."""

    list_display = (
        "public_id",
        "terminal",
        "status",
        "amount",
        "used",
        "created_at",
        "released_at",
        "reserved_by",
    )
    list_filter = ("status", "terminal__store")
    list_select_related = ("terminal",)


@admin.register(OfflineShortfall)
class OfflineShortfallAdmin(ReadOnlyAdmin):
    """Receivables: the part of offline gift card sales the card could not pay on replay.
    The back office recovers each from the customer, or writes it off."""

    list_display = (
        "created_at",
        "status",
        "amount",
        "card_paid",
        "code_last4",
        "payment",
        "allowance",
        "resolved_by",
    )
    list_filter = ("status", "allowance__terminal__store")
    list_select_related = ("allowance__terminal", "payment")
    actions = ["mark_recovered", "write_off"]

    def _resolve(
        self, request: HttpRequest, queryset: QuerySet[OfflineShortfall], status: str
    ) -> None:
        actor = user_actor(request.user)
        for shortfall in queryset:
            offline_shortfall_resolve(shortfall=shortfall, status=status, actor=actor)
            self.log_change(request, shortfall, f"shortfall {status}")

    @admin.action(description="Mark the selected shortfalls recovered")
    def mark_recovered(self, request: HttpRequest, queryset: QuerySet[OfflineShortfall]) -> None:
        self._resolve(request, queryset, OfflineShortfall.Status.RECOVERED)

    @admin.action(description="Write the selected shortfalls off")
    def write_off(self, request: HttpRequest, queryset: QuerySet[OfflineShortfall]) -> None:
        self._resolve(request, queryset, OfflineShortfall.Status.WRITTEN_OFF)
