from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.actors import user_actor
from config.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    ReasonForm,
    confirmed_action,
    confirming_data,
)
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
        "resolution_reason",
    )
    list_filter = ("status", "allowance__terminal__store")
    list_select_related = ("allowance__terminal", "payment")
    actions = ["mark_recovered", "write_off"]

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        """Who may mark shortfalls recovered or written off: `change_offlineshortfall`."""
        return request.user.has_perm("tills.change_offlineshortfall")

    def _resolve(
        self, request: HttpRequest, queryset: QuerySet[OfflineShortfall], *, status: str
    ) -> TemplateResponse | None:
        """Each open shortfall through its service, behind a confirmation page with a mandatory
        reason; the reason, who and when are kept on the row and in the admin history."""
        actor = user_actor(request.user)

        def resolve(shortfall: OfflineShortfall, form: forms.Form) -> str:
            reason = form.cleaned_data["reason"]
            done = offline_shortfall_resolve(
                shortfall=shortfall, status=status, reason=reason, actor=actor
            )
            if (done.status, done.resolved_by, done.resolution_reason) != (status, actor, reason):
                return gettext("already %(status)s, left as it was.") % {
                    "status": done.get_status_display()
                }
            return f"{done.get_status_display()}: {reason}"

        label = OfflineShortfall.Status(status).label
        return confirmed_action(
            self,
            request,
            queryset.order_by("pk"),
            action="mark_recovered" if status == OfflineShortfall.Status.RECOVERED else "write_off",
            title=gettext("Shortfalls %(status)s") % {"status": label},
            explanation=gettext(
                "Each open shortfall is marked as said, with your reason, name and the time. "
                "Only the receivable's status changes: money recovered from the customer is "
                "taken outside Kassa and not posted to the ledger. A shortfall already resolved "
                "stays as it is."
            ),
            confirm_label=gettext("Confirm"),
            form=ReasonForm(confirming_data(request)),
            details=lambda shortfall: [
                gettext("%(status)s, %(amount)s, card …%(last4)s, payment %(payment)s")
                % {
                    "status": shortfall.get_status_display(),
                    "amount": shortfall.amount,
                    "last4": shortfall.code_last4 or "?",
                    "payment": shortfall.payment_id,
                }
            ],
            apply=resolve,
        )

    @admin.action(description=_("Mark the selected shortfalls recovered…"), permissions=["resolve"])
    def mark_recovered(
        self, request: HttpRequest, queryset: QuerySet[OfflineShortfall]
    ) -> TemplateResponse | None:
        return self._resolve(request, queryset, status=OfflineShortfall.Status.RECOVERED)

    @admin.action(description=_("Write the selected shortfalls off…"), permissions=["resolve"])
    def write_off(
        self, request: HttpRequest, queryset: QuerySet[OfflineShortfall]
    ) -> TemplateResponse | None:
        return self._resolve(request, queryset, status=OfflineShortfall.Status.WRITTEN_OFF)
