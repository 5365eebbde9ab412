"""Gift cards and bank cards: read-only, balances from their ledger account; gift cards can be
blocked, unblocked or expired through the wallet's services.
"""

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.admin import (
    ReadOnlyAdmin,
    ReasonForm,
    confirmed_action,
    confirming_data,
)
from wallet.admin.ledger import _account_link, _actor
from wallet.models import (
    BankCard,
    GiftCard,
)
from wallet.services import (
    gift_card_block,
    gift_card_expire,
    gift_card_unblock,
)


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


@admin.register(BankCard)
class BankCardAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "customer", "merchant", "default_since", "created_at", "removed_at")
    list_filter = ("brand", "merchant")
    search_fields = ("last4", "payment_method_id", "stripe_customer_id", "customer__public_id")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)
