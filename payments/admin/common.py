"""What every payments admin page shares: links, money as the API writes it, the inlines'
permission.
"""

from typing import Any

from django.db.models import Model
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from moneyed import Money

from config.admin import ReadOnlyInline as BaseReadOnlyInline
from config.money import money_json
from payments.models import Payment


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


# -- read-only inlines ------------------------------------------------------------------------


class ReadOnlyInline(BaseReadOnlyInline):
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Tenders, refunds and events are part of the payment: whoever sees it sees them."""
        return request.user.has_perm("payments.view_payment") or request.user.has_perm(
            "payments.change_payment"
        )
