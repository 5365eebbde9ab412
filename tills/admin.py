from django.contrib import admin

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from tills.models import CashMovement, TillSession


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
