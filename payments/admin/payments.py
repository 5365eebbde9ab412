"""Payments and their tenders and events: read-only, with capture, void and refund through the
engine's services.
"""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from config.actors import user_actor
from config.admin import ReadOnlyAdmin, ReasonForm, confirmed_action, confirming_data
from customers.models import Customer
from customers.selectors import customer_survivor
from payments.admin.common import ReadOnlyInline, _admin_link, _refundable, _show
from payments.admin.refunds import RefundForm, RefundInline
from payments.models import Payment, PaymentEvent, Tender
from payments.services.capture import payment_capture
from payments.services.refund import refund_create
from payments.services.void import payment_void


class TenderInline(ReadOnlyInline):
    model = Tender
    fields = (
        "sequence",
        "method",
        "status",
        "amount",
        "captured_amount",
        "refunded_amount",
        "points",
        "instrument",
        "stripe_payment_intent_id",
        "external_reference",
        "failure_code",
        "disputed",
    )
    ordering = ("sequence",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tender]:
        return (
            super()
            .get_queryset(request)
            .select_related("gift_card", "voucher", "loyalty_account", "bank_card")
        )

    @admin.display(description=_("instrument"))
    def instrument(self, tender: Tender) -> str:
        held = tender.gift_card or tender.voucher or tender.loyalty_account or tender.bank_card
        return _admin_link(held) if held else "-"


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ("created_at", "type", "actor", "tender", "data")
    ordering = ("id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentEvent]:
        return super().get_queryset(request).select_related("tender")


# -- payments ---------------------------------------------------------------------------------


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    """Payments, read-only, with capture, void and refund through the engine's services."""

    list_display = (
        "public_id",
        "created_at",
        "status",
        "channel",
        "amount",
        "captured_amount",
        "refunded_amount",
        "store",
        "terminal",
        "customer_id_",
        "external_reference",
        "offline",
        "offline_late",
    )
    list_filter = (
        "status",
        "channel",
        "merchant",
        "store",
        "terminal",
        "offline_late",
        "created_at",
    )
    list_select_related = ("store", "terminal", "customer", "merchant")
    date_hierarchy = "created_at"
    search_fields = ("external_reference", "=tenders__stripe_payment_intent_id")
    search_help_text = _(
        "Payment id, customer id (merged customers too), external reference, "
        "or a card tender's Stripe PaymentIntent id."
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "public_id",
                    "status",
                    "channel",
                    "merchant",
                    "store",
                    "terminal",
                    "customer",
                    "external_reference",
                    "api_key",
                    "idempotency_key",
                )
            },
        ),
        (
            _("Amounts"),
            {
                "fields": (
                    "amount",
                    "captured_amount",
                    "refunded_amount",
                    "capture_requested",
                    "points_earned",
                    "loyalty_earn_transfer",
                )
            },
        ),
        (_("Outcome"), {"fields": ("failure_code", "failure_detail")}),
        (
            _("Timeline"),
            {
                "fields": (
                    "created_at",
                    "updated_at",
                    "authorized_at",
                    "captured_at",
                    "voided_at",
                    "expires_at",
                )
            },
        ),
        (_("Basket"), {"fields": ("basket",), "classes": ("collapse",)}),
    )
    inlines = [TenderInline, RefundInline, PaymentEventInline]
    actions = ["capture", "void", "refund"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_money_permission(self, request: HttpRequest) -> bool:
        """Who may capture, void and refund: Django's `change_payment` permission."""
        return request.user.has_perm("payments.change_payment")

    @admin.display(description=_("customer"), ordering="customer__public_id")
    def customer_id_(self, payment: Payment) -> str:
        return str(payment.customer.public_id) if payment.customer else "-"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Payment], search_term: str
    ) -> tuple[QuerySet[Payment], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            term = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        customers = [customer_survivor(c) for c in Customer.objects.filter(public_id=term)]
        results |= queryset.filter(public_id=term)
        results |= queryset.filter(customer__in=customers)
        return results, may_have_duplicates

    # -- actions ----------------------------------------------------------------------------

    @admin.action(description=_("Capture selected payments in full…"), permissions=["money"])
    def capture(self, request: HttpRequest, queryset: QuerySet[Payment]) -> TemplateResponse | None:
        def capture_in_full(payment: Payment, form: forms.Form) -> str:
            captured = payment_capture(payment=payment, actor=user_actor(request.user))
            return gettext("Captured %(amount)s; now %(status)s.") % {
                "amount": _show(captured.captured_amount),
                "status": captured.status,
            }

        return confirmed_action(
            self,
            request,
            queryset.order_by("pk"),
            action="capture",
            title=gettext("Capture payments"),
            explanation=gettext(
                "Each authorised payment is captured for its whole amount: card authorisations "
                "are captured at Stripe, gift card and points holds are posted, vouchers are "
                "consumed and loyalty points are earned. A payment that is not authorised is "
                "refused and stays as it is."
            ),
            confirm_label=gettext("Capture"),
            form=forms.Form(confirming_data(request)),
            details=_summary,
            apply=capture_in_full,
        )

    @admin.action(description=_("Void selected payments…"), permissions=["money"])
    def void(self, request: HttpRequest, queryset: QuerySet[Payment]) -> TemplateResponse | None:
        def void_whole(payment: Payment, form: forms.Form) -> str:
            reason = form.cleaned_data["reason"]
            voided = payment_void(payment=payment, reason=reason, actor=user_actor(request.user))
            return gettext("Voided (%(reason)s); now %(status)s.") % {
                "reason": reason,
                "status": voided.status,
            }

        return confirmed_action(
            self,
            request,
            queryset.order_by("pk"),
            action="void",
            title=gettext("Void payments"),
            explanation=gettext(
                "Each authorised payment is released as a whole: every card authorisation is "
                "cancelled at Stripe and every gift card, points and voucher hold is voided. "
                "Captured payments cannot be voided; refund them instead."
            ),
            confirm_label=gettext("Void"),
            form=ReasonForm(confirming_data(request)),
            details=_summary,
            apply=void_whole,
        )

    @admin.action(description=_("Refund the selected payment…"), permissions=["money"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> TemplateResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request, gettext("Select exactly one payment to refund."), messages.ERROR
            )
            return None
        payment = queryset.get()

        def refund_with_reason(payment: Payment, form: forms.Form) -> str:
            assert isinstance(form, RefundForm)
            refund = refund_create(
                payment=payment,
                amount=form.refund_amount(),
                policy=form.cleaned_data["policy"],
                allocations=form.allocations(),
                reason=form.cleaned_data["reason"],
                actor=user_actor(request.user),
            )
            shares = ", ".join(
                f"#{a.tender.sequence} {a.tender.method} {_show(a.amount)}"
                for a in refund.allocations.select_related("tender").order_by("tender__sequence")
            )
            return gettext("Refunded %(amount)s (%(policy)s: %(shares)s); reason: %(reason)s.") % {
                "amount": _show(refund.amount),
                "policy": refund.policy,
                "shares": shares,
                "reason": refund.reason,
            }

        return confirmed_action(
            self,
            request,
            queryset,
            action="refund",
            title=gettext("Refund payment"),
            explanation=gettext(
                "Gift card and points shares go back to their instruments, a voucher is "
                "reinstated once its share is refunded in full (never paid out), card shares are "
                "refunded at Stripe, and cash or till-terminal shares are recorded for the store "
                "to pay out. Loyalty points earned on the sale are taken back in proportion."
            ),
            confirm_label=pgettext("button", "Refund"),
            form=RefundForm(confirming_data(request), payment=payment),
            details=_summary,
            apply=refund_with_reason,
        )


def _summary(payment: Payment) -> list[str]:
    lines = [
        gettext(
            "%(status)s, %(channel)s, amount %(amount)s, captured %(captured)s, "
            "refundable %(refundable)s"
        )
        % {
            "status": payment.get_status_display(),
            "channel": payment.get_channel_display(),
            "amount": _show(payment.amount),
            "captured": _show(payment.captured_amount),
            "refundable": _show(_refundable(payment)),
        },
    ]
    lines += [
        gettext(
            "#%(sequence)s %(method)s %(status)s: %(amount)s, captured %(captured)s, "
            "refunded %(refunded)s"
        )
        % {
            "sequence": t.sequence,
            "method": t.get_method_display(),
            "status": t.get_status_display(),
            "amount": _show(t.amount),
            "captured": _show(t.captured_amount),
            "refunded": _show(t.refunded_amount),
        }
        for t in payment.tenders.order_by("sequence")
    ]
    return lines


# -- Stripe events ----------------------------------------------------------------------------
