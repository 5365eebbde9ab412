"""Stripe webhook events as received, read-only, each linked to its payment."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdmin
from payments.admin.common import _admin_link
from payments.models import StripeEvent, Tender


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    """Webhook events as received (verified, stored once); read-only. `claimed until` is the
    lease of the processor applying an event not processed yet (past: it died, to be taken over).
    """

    list_display = ("event_id", "type", "received_at", "processed_at", "claimed_until")
    list_filter = ("type", ("processed_at", admin.EmptyFieldListFilter), "received_at")
    search_fields = ("=event_id", "type")
    date_hierarchy = "received_at"
    fields = (
        "event_id",
        "type",
        "received_at",
        "processed_at",
        "claimed_until",
        "payment",
        "payload",
    )
    readonly_fields = fields

    @admin.display(description=_("payment"))
    def payment(self, event: StripeEvent) -> str:
        """The payment whose card tender the event's PaymentIntent belongs to, if any."""
        obj = event.payload.get("data", {}).get("object", {})
        intent = (
            obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
        )
        if not intent:
            return "-"
        tender = (
            Tender.objects.select_related("payment").filter(stripe_payment_intent_id=intent).first()
        )
        return _admin_link(tender.payment) if tender else "-"
