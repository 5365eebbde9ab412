"""Loyalty accounts (read-only, with their lots) and programmes (configuration: editable, never
deleted).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from wallet.admin.instruments import InstrumentAdmin
from wallet.models import (
    LoyaltyAccount,
    LoyaltyLot,
    LoyaltyProgramme,
)


class LoyaltyLotInline(admin.TabularInline):
    model = LoyaltyLot
    fields = ("points", "expires_at", "transfer", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(InstrumentAdmin):
    list_display = (
        "public_id",
        "programme",
        "customer",
        "balance",
        "held",
        "available",
        "closed_at",
    )
    list_filter = ("programme",)
    search_fields = ("public_id", "customer__public_id")
    readonly_fields = (
        "public_id",
        "programme",
        "customer",
        "balance",
        "held",
        "available",
        "ledger",
        "closed_at",
        "created_at",
    )
    fields = readonly_fields
    inlines = [LoyaltyLotInline]


@admin.register(LoyaltyProgramme)
class LoyaltyProgrammeAdmin(admin.ModelAdmin):
    """Programme rules are configuration, not money: editable (but never deleted)."""

    list_display = (
        "name",
        "merchant",
        "currency",
        "earn_rate",
        "point_value",
        "points_validity_days",
    )
    list_filter = ("merchant", "currency")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("merchant", "currency") if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
