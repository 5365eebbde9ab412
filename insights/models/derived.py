"""Derived, not facts: profiles and recommendations (under the `personalisation` consent,
deleted when it is withdrawn) and the precomputed popular products.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from merchants.models import Merchant


class Profile(models.Model):
    """Derived features of a consenting customer (deleted on withdrawal)."""

    customer = models.OneToOneField(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    recency_days = models.PositiveIntegerField(null=True, verbose_name=_("recency days"))
    frequency = models.PositiveIntegerField(default=0, verbose_name=_("frequency"))
    spend_by_channel = models.JSONField(default=dict, verbose_name=_("spend by channel"))
    favourite_categories = models.JSONField(default=list, verbose_name=_("favourite categories"))
    expected_next_at = models.DateTimeField(
        null=True,
        help_text=_("Last order plus the median gap between the customer's orders."),
        verbose_name=_("expected next at"),
    )
    expected_categories = models.JSONField(
        default=list,
        help_text=_("The categories in the largest share of the customer's orders."),
        verbose_name=_("expected categories"),
    )
    computed_at = models.DateTimeField(auto_now=True, verbose_name=_("computed at"))

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"profile of {self.customer_id}"


class Recommendation(models.Model):
    """A precomputed offer for a consenting customer, best first (deleted on withdrawal)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    sku = models.CharField(max_length=64, verbose_name=_("sku"))
    score = models.FloatField(verbose_name=_("score"))
    reason = models.CharField(max_length=32, verbose_name=_("reason"))
    model = models.CharField(max_length=32, verbose_name=_("model"))
    channel_shares = models.JSONField(
        default=dict,
        help_text=_(
            "Share of the product bought in each channel: by this customer if they bought it, "
            "else by everyone. Ranks the offers asked for in a channel."
        ),
        verbose_name=_("channel shares"),
    )
    computed_at = models.DateTimeField(auto_now=True, verbose_name=_("computed at"))

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        constraints = [
            models.UniqueConstraint(fields=["customer", "sku"], name="insights_reco_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.score:.3f})"


class Popular(models.Model):
    """Precomputed popular products per merchant and channel ('' = every channel)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    channel = models.CharField(max_length=16, blank=True, verbose_name=_("channel"))
    sku = models.CharField(max_length=64, verbose_name=_("sku"))
    rank = models.PositiveIntegerField(verbose_name=_("rank"))
    score = models.FloatField(verbose_name=_("score"))

    class Meta:
        verbose_name = _("popular")
        verbose_name_plural = _("populars")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "channel", "sku"], name="insights_popular_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel or 'all'} {self.rank}. {self.sku}"
