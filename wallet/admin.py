"""Back office for the wallet: every instrument with read-only balances, the ledger (accounts,
transfers, entries) as a read-only view, and manual adjustments only through
`services.instrument_adjust`, with a mandatory reason and the staff user recorded as actor."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
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
    ReasonForm,
    confirmed_action,
    confirming_data,
)
from config.errors import KassaError
from wallet.models import (
    BankCard,
    Entry,
    GiftCard,
    LedgerAccount,
    LoyaltyAccount,
    LoyaltyLot,
    LoyaltyProgramme,
    Transfer,
    Voucher,
    VoucherRedemption,
)
from wallet.selectors import account_balance
from wallet.services import (
    gift_card_block,
    gift_card_expire,
    gift_card_unblock,
    instrument_adjust,
    voucher_disable,
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


class InstrumentAdmin(ReadOnlyAdmin):
    """Instruments: read-only, balances from their ledger account."""

    list_select_related = ("account",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.display(description=_("balance"))
    def balance(self, obj: Any) -> Decimal:
        return Decimal(obj.account.balance)

    @admin.display(description=_("held"))
    def held(self, obj: Any) -> Decimal:
        return Decimal(obj.account.held)

    @admin.display(description=_("available"))
    def available(self, obj: Any) -> Decimal:
        return Decimal(obj.account.available)

    @admin.display(description=_("ledger account"))
    def ledger(self, obj: Any) -> str:
        return _account_link(obj.account)


@admin.register(GiftCard)
class GiftCardAdmin(InstrumentAdmin):
    list_display = (
        "code_last4",
        "currency",
        "status",
        "balance",
        "held",
        "available",
        "expires_at",
    )
    list_filter = ("status", "currency", "merchant")
    search_fields = ("code_last4", "public_id", "customer__public_id")
    readonly_fields = (
        "public_id",
        "merchant",
        "customer",
        "currency",
        "code_last4",
        "status",
        "status_reason",
        "expires_at",
        "issued_at",
        "balance",
        "held",
        "available",
        "ledger",
    )
    fields = readonly_fields
    actions = ["block", "unblock", "expire"]

    def _change_status(
        self,
        request: HttpRequest,
        queryset: QuerySet[GiftCard],
        *,
        action: str,
        title: str,
        explanation: str,
        change: Any,
    ) -> TemplateResponse | None:
        """Each card through its service, behind a confirmation page with a mandatory reason."""
        return confirmed_action(
            self,
            request,
            queryset.order_by("pk"),
            action=action,
            title=title,
            explanation=explanation,
            confirm_label=title.split()[0],
            form=ReasonForm(confirming_data(request)),
            details=lambda card: [
                gettext("%(status)s, available %(available)s")
                % {"status": card.status, "available": card.account.available}
            ],
            apply=lambda card, form: change(card, form.cleaned_data["reason"]),
        )

    @admin.action(description=_("Block selected cards…"))
    def block(self, request: HttpRequest, queryset: QuerySet[GiftCard]) -> TemplateResponse | None:
        def block(card: GiftCard, reason: str) -> str:
            gift_card_block(gift_card=card, reason=reason, actor=_actor(request))
            return gettext("blocked")

        return self._change_status(
            request,
            queryset,
            action="block",
            title=gettext("Block gift cards"),
            explanation=gettext("A blocked card cannot pay or be claimed until it is unblocked."),
            change=block,
        )

    @admin.action(description=_("Unblock selected cards…"))
    def unblock(
        self, request: HttpRequest, queryset: QuerySet[GiftCard]
    ) -> TemplateResponse | None:
        def unblock(card: GiftCard, reason: str) -> str:
            gift_card_unblock(gift_card=card, reason=reason, actor=_actor(request))
            return gettext("unblocked")

        return self._change_status(
            request,
            queryset,
            action="unblock",
            title=gettext("Unblock gift cards"),
            explanation=gettext("The cards can pay again."),
            change=unblock,
        )

    @admin.action(description=_("Expire selected cards now (remaining value to breakage)…"))
    def expire(self, request: HttpRequest, queryset: QuerySet[GiftCard]) -> TemplateResponse | None:
        def expire(card: GiftCard, reason: str) -> str:
            breakage = gift_card_expire(gift_card=card, actor=_actor(request), reason=reason)
            return gettext("expired; %(amount)s %(currency)s to breakage") % {
                "amount": breakage.amount if breakage else 0,
                "currency": card.currency,
            }

        return self._change_status(
            request,
            queryset,
            action="expire",
            title=gettext("Expire gift cards"),
            explanation=gettext(
                "Each card is expired now and its available value moves to breakage in the "
                "ledger, with your reason. Value held by a pending payment stays until it settles."
            ),
            change=expire,
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


@admin.register(BankCard)
class BankCardAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "customer", "merchant", "default_since", "created_at", "removed_at")
    list_filter = ("brand", "merchant")
    search_fields = ("last4", "payment_method_id", "stripe_customer_id", "customer__public_id")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


from wallet import admin_liability  # noqa: E402, F401  (registers the liability view)
