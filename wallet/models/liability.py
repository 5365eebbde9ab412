from django.db import models

from merchants.models import Merchant

AMOUNT_DIGITS, AMOUNT_PLACES = 20, 4


def _amount(help_text: str) -> models.DecimalField:
    return models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, help_text=help_text
    )


class LiabilitySnapshot(models.Model):
    """A merchant's stored-value liability in one currency at the end of one day (its first
    store's time zone), as `wallet.liability` computes it from ledger entries: what finance
    books as deferred revenue. Amounts are in `currency`; points are whole points.

    Cumulative figures (issued, redeemed, breakage, ...) run from the ledger's first entry to
    the day's end; a day's movement is the difference between two snapshots."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    day = models.DateField()
    gift_card_issued = _amount("Issued and reloaded.")
    gift_card_redeemed = _amount("Redeemed, net of refunds.")
    gift_card_breakage = _amount("Expired (or forfeited) value.")
    gift_card_adjusted = _amount("Manual adjustments (signed).")
    gift_card_outstanding = _amount("Owed to card holders.")
    gift_card_held = _amount("Of which held by open payments.")
    voucher_funding_used = _amount("Discounts granted by vouchers, net of reinstatements.")
    voucher_funding_held = _amount("Voucher discounts reserved by open payments.")
    points_outstanding = models.BigIntegerField()
    points_held = models.BigIntegerField()
    points_expired = models.BigIntegerField()
    point_value = models.DecimalField(max_digits=10, decimal_places=6)
    points_value = _amount("Outstanding points at point value.")
    breakage_recognised = _amount("Gift card breakage plus expired points at point value.")
    deferred_revenue = _amount("Gift cards outstanding plus points value.")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "merchant_id", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency", "day"], name="liability_snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.currency} {self.day}"
