"""The ledger in the back office: accounts (with manual adjustments through `instrument_adjust`)
and transfers with their entries, read-only.
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.actors import user_actor
from config.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
)
from config.errors import KassaError
from wallet.models import (
    Entry,
    LedgerAccount,
    Transfer,
)
from wallet.selectors import account_balance
from wallet.services import (
    instrument_adjust,
)


def _account_link(account: LedgerAccount) -> str:
    url = reverse("admin:wallet_ledgeraccount_change", args=[account.pk])
    return format_html('<a href="{}">{}</a>', url, account)


def _actor(request: HttpRequest) -> str:
    return user_actor(request.user)


class EntryInline(ReadOnlyInline):
    model = Entry
    fields = ("transfer", "layer", "side", "amount")
    ordering = ("-pk",)


class AdjustmentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=20,
        decimal_places=4,
        help_text=_("Positive credits the instrument, negative takes value off it."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea,
        min_length=5,
        help_text=_("Recorded in the ledger."),
    )


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "unit", "merchant", "balance_", "held_", "available_")
    list_filter = ("kind", "unit", "is_system", "merchant")
    search_fields = ("name",)
    readonly_fields = (
        "merchant",
        "kind",
        "unit",
        "is_system",
        "name",
        "balance_",
        "held_",
        "available_",
        "debits_pending",
        "debits_posted",
        "credits_pending",
        "credits_posted",
        "adjust",
    )
    fields = readonly_fields
    inlines = [EntryInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.display(description=_("balance"))
    def balance_(self, account: LedgerAccount) -> Decimal:
        return account_balance(account=account)

    @admin.display(description=_("held"))
    def held_(self, account: LedgerAccount) -> Decimal | str:
        return "-" if account.is_system else account.held

    @admin.display(description=_("available"))
    def available_(self, account: LedgerAccount) -> Decimal | str:
        return "-" if account.is_system else account.available

    @admin.display(description=_("manual adjustment"))
    def adjust(self, account: LedgerAccount) -> str:
        if account.is_system or account.pk is None:
            return "-"
        url = reverse("admin:wallet_ledgeraccount_adjust", args=[account.pk])
        return format_html(
            '<a class="button" href="{}">{}</a>', url, gettext("Adjust with a reason…")
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:account_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="wallet_ledgeraccount_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request: HttpRequest, account_id: int) -> HttpResponse:
        if not request.user.has_perm("wallet.add_transfer") and not request.user.is_superuser:
            return HttpResponse(status=403)
        account = get_object_or_404(LedgerAccount, pk=account_id, is_system=False)
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                transfer = instrument_adjust(
                    account=account,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=_actor(request),
                )
            except KassaError as error:
                form.add_error("amount", f"{error.detail} ({error.code})")
            else:
                messages.success(
                    request, gettext("Adjusted: %(transfer)s.") % {"transfer": transfer}
                )
                url = reverse("admin:wallet_ledgeraccount_change", args=[account.pk])
                return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Adjust %(account)s") % {"account": account},
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallet/ledgeraccount/adjust.html", context)


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "kind",
        "code",
        "amount",
        "unit",
        "debit_account",
        "credit_account",
        "state_",
        "reference",
        "actor",
    )
    list_filter = ("kind", "code", "unit", "merchant")
    search_fields = ("reference", "public_id", "reason", "actor")
    date_hierarchy = "created_at"
    list_select_related = ("debit_account", "credit_account", "resolution")
    inlines = [EntryInline]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.display(description=_("state"))
    def state_(self, transfer: Transfer) -> str:
        return transfer.state
