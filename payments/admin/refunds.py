"""Refunds in the back office: the refund form (amount, policy, reason, amounts per tender) and a
payment's refunds.
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from moneyed import Money

from config.admin import ReasonForm
from config.money import currency_exponent, money
from payments.admin.common import ReadOnlyInline, _refundable, _show
from payments.models import Payment, Refund, RefundAllocation, Tender

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
