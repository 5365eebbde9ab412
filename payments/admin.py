"""Back office for payments: find any payment, read its whole story, capture, void or refund it.

Nothing here writes a money row itself. Every field is read-only and nothing can be added or
deleted; the three actions call the engine's own services (`payment_capture`, `payment_void`,
`refund_create`) behind a confirmation page, so the admin obeys exactly the rules, locks and
Stripe calls the API does. Void and refund ask for a reason, which the service records (payment
event, ledger transfers); the staff user and the reason also go to the admin history (LogEntry).
The actions are offered to staff holding `payments.change_payment`; `view_payment` only reads.
"""

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from moneyed import Money

from config.actors import user_actor
from config.admin import ReadOnlyAdmin, ReasonForm, confirmed_action, confirming_data
from config.admin import ReadOnlyInline as BaseReadOnlyInline
from config.money import currency_exponent, money, money_json
from customers.models import Customer
from customers.selectors import customer_survivor
from payments.models import Payment, PaymentEvent, Refund, RefundAllocation, StripeEvent, Tender
from payments.services.capture import payment_capture
from payments.services.refund import refund_create
from payments.services.void import payment_void


def _admin_link(obj: Model | None) -> str:
    """A link to the object's admin page, or its plain name when it has none."""
    if obj is None:
        return "-"
    try:
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(obj)
    return format_html('<a href="{}">{}</a>', url, obj)


def _show(value: Money) -> str:
    """Money as the API writes it: decimal string at the currency's precision, then the code."""
    shown = money_json(value)
    return f"{shown['amount']} {shown['currency']}"


def _refundable(payment: Payment) -> Money:
    return payment.captured_amount - payment.refunded_amount


# -- forms ------------------------------------------------------------------------------------


class RefundForm(ReasonForm):
    """Amount, allocation policy and reason; with `explicit`, an amount per tender."""

    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"))
    policy = forms.ChoiceField(
        label=_("Policy"),
        choices=Refund.Policy.choices,
        initial=Refund.Policy.REVERSE,
        help_text=_(
            "reverse: card and cash first, vouchers last; pro_rata: in proportion to what each "
            "tender can still refund; explicit: the amounts you enter per tender below."
        ),
    )

    def __init__(self, *args: Any, payment: Payment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.currency = payment.amount.currency.code
        decimals = currency_exponent(self.currency)
        amount_field = self.fields["amount"]
        assert isinstance(amount_field, forms.DecimalField)
        amount_field.decimal_places = decimals
        amount_field.label = gettext("Amount (%(currency)s)") % {"currency": self.currency}
        amount_field.help_text = gettext("At most %(amount)s.") % {
            "amount": _show(_refundable(payment))
        }
        self.tender_fields: dict[str, Tender] = {}
        for tender in payment.tenders.filter(status=Tender.Status.CAPTURED).order_by("sequence"):
            refundable = tender.captured_amount - tender.refunded_amount
            if refundable.amount <= 0:
                continue
            name = f"tender_{tender.sequence}"
            self.fields[name] = forms.DecimalField(
                required=False,
                min_value=Decimal("0.01"),
                decimal_places=decimals,
                label=f"#{tender.sequence} {tender.get_method_display()}",
                help_text=gettext("explicit only; refundable %(amount)s")
                % {"amount": _show(refundable)},
            )
            self.tender_fields[name] = tender
        self.order_fields(["amount", "policy", *self.tender_fields, "reason"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        shares = {name: data.get(name) for name in self.tender_fields if data.get(name)}
        if data.get("policy") == Refund.Policy.EXPLICIT and not shares:
            raise forms.ValidationError(
                gettext("An explicit refund needs an amount for each tender.")
            )
        if data.get("policy") != Refund.Policy.EXPLICIT and shares:
            raise forms.ValidationError(
                gettext("Per-tender amounts are only used by the explicit policy.")
            )
        return data

    def refund_amount(self) -> Money:
        return money(self.cleaned_data["amount"], self.currency)

    def allocations(self) -> list[tuple[str, Money]]:
        return [
            (str(tender.public_id), money(self.cleaned_data[name], self.currency))
            for name, tender in self.tender_fields.items()
            if self.cleaned_data.get(name)
        ]


# -- read-only inlines ------------------------------------------------------------------------


class ReadOnlyInline(BaseReadOnlyInline):
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Tenders, refunds and events are part of the payment: whoever sees it sees them."""
        return request.user.has_perm("payments.view_payment") or request.user.has_perm(
            "payments.change_payment"
        )


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


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = (
        "public_id",
        "created_at",
        "amount",
        "policy",
        "status",
        "reason",
        "external",
        "allocation_lines",
        "points_reversed",
        "failure_code",
        "api_key",
    )
    ordering = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).prefetch_related("allocations__tender")

    @admin.display(description=_("allocations"))
    def allocation_lines(self, refund: Refund) -> str:
        rows: Iterable[RefundAllocation] = refund.allocations.all()
        return format_html_join(
            "",
            "<div>#{} {}: {}{}</div>",
            (
                (
                    a.tender.sequence,
                    a.tender.get_method_display(),
                    _show(a.amount),
                    f" ({a.stripe_refund_id})" if a.stripe_refund_id else "",
                )
                for a in sorted(rows, key=lambda a: a.tender.sequence)
            ),
        )


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
