from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

AMOUNT_DIGITS, AMOUNT_PLACES = 20, 4


def _amount(verbose_name: "StrOrPromise", help_text: "StrOrPromise") -> models.DecimalField:
    return models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        verbose_name=verbose_name,
        help_text=help_text,
    )


class LiabilitySnapshot(models.Model):
    """A merchant's stored-value liability in one currency at the end of one day (its first
    store's time zone), as `wallet.liability` computes it from ledger entries: what finance
    books as deferred revenue. Amounts are in `currency`; points are whole points.

    Cumulative figures (issued, redeemed, breakage, ...) run from the ledger's first entry to
    the day's end; a day's movement is the difference between two snapshots."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    day = models.DateField(verbose_name=_("day"))
    gift_card_issued = _amount(_("gift card issued"), _("Issued and reloaded."))
    gift_card_redeemed = _amount(_("gift card redeemed"), _("Redeemed, net of refunds."))
    gift_card_breakage = _amount(_("gift card breakage"), _("Expired (or forfeited) value."))
    gift_card_adjusted = _amount(_("gift card adjusted"), _("Manual adjustments (signed)."))
    gift_card_outstanding = _amount(_("gift card outstanding"), _("Owed to card holders."))
    gift_card_held = _amount(_("gift card held"), _("Of which held by open payments."))
    voucher_funding_used = _amount(
        _("voucher funding used"), _("Discounts granted by vouchers, net of reinstatements.")
    )
    voucher_funding_held = _amount(
        _("voucher funding held"), _("Voucher discounts reserved by open payments.")
    )
    points_outstanding = models.BigIntegerField(verbose_name=_("points outstanding"))
    points_held = models.BigIntegerField(verbose_name=_("points held"))
    points_expired = models.BigIntegerField(verbose_name=_("points expired"))
    point_value = models.DecimalField(
        max_digits=10, decimal_places=6, verbose_name=_("point value")
    )
    points_value = _amount(_("points value"), _("Outstanding points at point value."))
    breakage_recognised = _amount(
        _("breakage recognised"), _("Gift card breakage plus expired points at point value.")
    )
    deferred_revenue = _amount(
        _("deferred revenue"), _("Gift cards outstanding plus points value.")
    )
    computed_at = models.DateTimeField(auto_now=True, verbose_name=_("computed at"))

    class Meta:
        verbose_name = _("liability snapshot")
        verbose_name_plural = _("liability snapshots")
        ordering = ["-day", "merchant_id", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency", "day"], name="liability_snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.currency} {self.day}"
