"""Vouchers and their redemptions, read-only; vouchers can be disabled."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.admin import (
    ReadOnlyAdmin,
)
from wallet.models import (
    Voucher,
    VoucherRedemption,
)
from wallet.services import (
    voucher_disable,
)


class VoucherRedemptionInline(admin.TabularInline):
    model = VoucherRedemption
    fields = ("status", "amount", "customer", "reference", "hold", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "kind",
        "currency",
        "status",
        "valid_from",
        "valid_until",
        "max_uses_total",
    )
    list_filter = ("status", "kind", "currency", "merchant")
    search_fields = ("code_last4", "public_id")
    readonly_fields = (
        "public_id",
        "merchant",
        "customer",
        "code_last4",
        "kind",
        "currency",
        "amount",
        "percent",
        "minimum_basket",
        "valid_from",
        "valid_until",
        "channels",
        "max_uses_total",
        "max_uses_per_customer",
        "status",
    )
    fields = readonly_fields
    inlines = [VoucherRedemptionInline]
    actions = ["disable"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description=_("Disable selected vouchers"))
    def disable(self, request: HttpRequest, queryset: QuerySet[Voucher]) -> None:
        for voucher in queryset:
            voucher_disable(voucher=voucher)
        self.message_user(
            request, gettext("Disabled %(count)d voucher(s).") % {"count": queryset.count()}
        )
