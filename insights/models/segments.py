"""Segments of consenting customers (rules written in the admin, or learned clusters) and their
members.
"""

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from merchants.models import Merchant

RULE_WINDOW_MAX_DAYS = 3660
CLUSTER_NAME = "Learned cluster"  # learned segments are named "Learned cluster <n>"


class Segment(models.Model):
    """A group of consenting customers: rules written in the admin, or a learned cluster.

    A rule segment's customer meets every rule that is set, over the purchases of the last
    `within_days` days (all of them when empty): bought in each of `channels`, spent at least
    `min_spend` (purchases in `currency` only), made at least `min_orders` orders, bought last
    within `max_recency_days`, bought in `category`. Learned segments are replaced by each
    clustering run.
    """

    class Kind(models.TextChoices):
        RULE = "rule", _("Rule")
        CLUSTER = "cluster", _("learned cluster")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    kind = models.CharField(
        max_length=8, choices=Kind.choices, default=Kind.RULE, verbose_name=_("kind")
    )
    channels = ArrayField(
        models.CharField(max_length=16, validators=[validate_slug]),
        default=list,
        blank=True,
        help_text=_("Bought in each of these channels (web, pos, app), comma-separated."),
        verbose_name=_("channels"),
    )
    within_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("The window the rules look at, in days; empty: all."),
        verbose_name=_("within days"),
    )
    min_spend = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, verbose_name=_("min spend")
    )
    currency = models.CharField(
        max_length=3,
        default="EUR",
        help_text=_("Spend counts only purchases in this currency."),
        verbose_name=_("currency"),
    )
    min_orders = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("min orders"))
    max_recency_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Bought last at most this many days ago."),
        verbose_name=_("max recency days"),
    )
    category = models.CharField(max_length=100, blank=True, verbose_name=_("category"))
    cluster = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False, verbose_name=_("cluster")
    )
    description = models.CharField(
        max_length=200, blank=True, editable=False, verbose_name=_("description")
    )
    evaluated_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("evaluated at")
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="insights_segment_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def rules_text(self) -> str:
        """The rules in words (a learned cluster: what its members mostly buy, and where)."""
        if self.kind == self.Kind.CLUSTER:
            return self.description
        rules = []
        if self.channels:
            rules.append(f"bought in {' and '.join(self.channels)}")
        if self.min_spend is not None:
            rules.append(f"spent at least {self.min_spend} {self.currency}")
        if self.min_orders is not None:
            rules.append(f"at least {self.min_orders} orders")
        if self.max_recency_days is not None:
            rules.append(f"bought in the last {self.max_recency_days} days")
        if self.category:
            rules.append(f"bought {self.category}")
        window = "" if self.within_days is None else f" over the last {self.within_days} days"
        return ", ".join(rules) + window

    def clean(self) -> None:
        if self.kind != self.Kind.RULE:
            raise ValidationError("Learned segments are made by the clustering task.")
        if self.name.startswith(CLUSTER_NAME):
            raise ValidationError({"name": f"Names starting {CLUSTER_NAME!r} are the task's."})
        rules = (
            self.channels,
            self.min_spend,
            self.min_orders,
            self.max_recency_days,
            self.category,
        )
        if not any(rule not in (None, "", []) for rule in rules):
            raise ValidationError("Set at least one rule.")
        if self.min_spend is not None and self.min_spend < 0:
            raise ValidationError({"min_spend": "Must not be negative."})
        if self.within_days is not None and not 1 <= self.within_days <= RULE_WINDOW_MAX_DAYS:
            raise ValidationError({"within_days": f"Between 1 and {RULE_WINDOW_MAX_DAYS}."})


class SegmentMember(models.Model):
    """A consenting customer in a segment, as of the last evaluation (derived)."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="members", verbose_name=_("segment")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="insights_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"
