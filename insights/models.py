"""Customer knowledge: products, purchases (facts), touchpoints, derived profiles and offers.

Purchases and feedback are what happened; profiles and recommendations are derived under the
`personalisation` consent and deleted when it is withdrawn.
"""

import secrets
import uuid
from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_slug
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from merchants.models import Merchant
from wallet.models import Channel as VoucherChannel
from wallet.models import Voucher

RULE_WINDOW_MAX_DAYS = 3660
CLUSTER_NAME = "Learned cluster"  # learned segments are named "Learned cluster <n>"
LAUNCH_PERMISSION = "launch_campaign"


class Product(models.Model):
    """What a SKU is, as last seen on a basket line or an import."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    sku = models.CharField(max_length=64, verbose_name=_("sku"))
    name = models.CharField(max_length=200, blank=True, verbose_name=_("name"))
    category = models.CharField(max_length=100, blank=True, verbose_name=_("category"))
    brand = models.CharField(max_length=100, blank=True, verbose_name=_("brand"))
    last_price = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, verbose_name=_("last price")
    )
    currency = models.CharField(max_length=3, blank=True, verbose_name=_("currency"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="insights_product_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()


class Purchase(models.Model):
    """One purchased line; `line_key` makes every source idempotent (import line, payment line)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    sku = models.CharField(max_length=64, verbose_name=_("sku"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_price = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, verbose_name=_("unit price")
    )
    # The currency of `unit_price` (blank without a price): spend is only summed per currency.
    currency = models.CharField(max_length=3, blank=True, verbose_name=_("currency"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    channel = models.CharField(max_length=16, blank=True, verbose_name=_("channel"))
    order_ref = models.CharField(max_length=100, blank=True, verbose_name=_("order ref"))
    line_key = models.CharField(max_length=64, verbose_name=_("line key"))
    # The line's share of the payment's refunds (set, not added, by each sync: idempotent).
    refunded_quantity = models.PositiveIntegerField(default=0, verbose_name=_("refunded quantity"))
    refunded_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("refunded amount")
    )

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "line_key"], name="insights_purchase_key")
        ]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="insights_purchase_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"

    @property
    def net_quantity(self) -> int:
        return max(self.quantity - self.refunded_quantity, 0)

    @property
    def net_spend(self) -> Decimal:
        if self.unit_price is None:
            return Decimal(0)
        return max(self.unit_price * self.quantity - self.refunded_amount, Decimal(0))

    @property
    def order_key(self) -> str:
        return self.order_ref or self.occurred_at.isoformat()


class EventKind(models.TextChoices):
    PRODUCT_VIEWED = "product_viewed", _("Product Viewed")
    ADDED_TO_BASKET = "added_to_basket", _("Added To Basket")
    SEARCH = "search", _("Search")
    STORE_VISIT = "store_visit", _("Store Visit")
    OFFER_SHOWN = "offer_shown", _("Offer Shown")
    OFFER_CLICKED = "offer_clicked", _("Offer Clicked")
    OFFER_DISMISSED = "offer_dismissed", _("Offer Dismissed")


class Touchpoint(models.Model):
    """One event: a consenting customer's, or anonymous (a device id, or nobody known)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("customer")
    )
    device_id = models.CharField(
        max_length=100, blank=True, db_index=True, verbose_name=_("device id")
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices, verbose_name=_("kind"))
    sku = models.CharField(max_length=64, blank=True, verbose_name=_("sku"))
    detail = models.CharField(max_length=200, blank=True, verbose_name=_("detail"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))

    class Meta:
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"


class EventCount(models.Model):
    """Events kept only as a count: no consent to tie them to the person."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    day = models.DateField(verbose_name=_("day"))
    kind = models.CharField(max_length=32, choices=EventKind.choices, verbose_name=_("kind"))
    count = models.PositiveIntegerField(default=0, verbose_name=_("count"))

    class Meta:
        verbose_name = _("event count")
        verbose_name_plural = _("event counts")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "day", "kind"], name="insights_count_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.count}"


class DeviceLink(models.Model):
    """A device that identified as a customer; its later anonymous events are theirs."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    device_id = models.CharField(max_length=100, verbose_name=_("device id"))
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    linked_at = models.DateTimeField(auto_now_add=True, verbose_name=_("linked at"))

    class Meta:
        verbose_name = _("device link")
        verbose_name_plural = _("device links")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "device_id"], name="insights_device_key")
        ]

    def __str__(self) -> str:
        return self.device_id


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


class Feedback(models.Model):
    """The customer's answer to an offer; `not_interested` keeps the product out for good."""

    class Kind(models.TextChoices):
        NOT_INTERESTED = "not_interested", _("Not Interested")
        CLICKED = "clicked", _("Clicked")
        REDEEMED = "redeemed", _("Redeemed")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    sku = models.CharField(max_length=64, verbose_name=_("sku"))
    category = models.CharField(max_length=100, blank=True, verbose_name=_("category"))
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    recorded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedbacks")
        indexes = [models.Index(fields=["customer", "kind"], name="insights_feedback_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.sku}"


class Watermark(models.Model):
    """How far a periodic sync has read (e.g. captured payments for products_sync)."""

    name = models.CharField(max_length=64, unique=True, verbose_name=_("name"))
    value = models.DateTimeField(verbose_name=_("value"))

    class Meta:
        verbose_name = _("watermark")
        verbose_name_plural = _("watermarks")

    def __str__(self) -> str:
        return f"{self.name} @ {self.value}"


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


def _campaign_seed() -> int:
    return secrets.randbelow(2**31)


class Campaign(models.Model):
    """A voucher for every member of a segment but a random holdout group, to measure uplift.

    The holdout is drawn with `seed` (recorded) when the campaign is launched; the voucher is
    issued through the wallet, one per targeted customer, valid `valid_days` from the launch.
    """

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("segment")
    )
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Fixed amount off."),
        verbose_name=_("amount"),
    )
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Or a percentage off."),
        verbose_name=_("percent"),
    )
    minimum_basket = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("minimum basket")
    )
    channels = ArrayField(
        models.CharField(max_length=8, choices=VoucherChannel.choices),
        default=list,
        blank=True,
        help_text=_("Where the voucher can be used; empty: everywhere."),
        verbose_name=_("channels"),
    )
    valid_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        verbose_name=_("valid days"),
    )
    holdout_percent = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        verbose_name=_("holdout percent"),
    )
    seed = models.PositiveIntegerField(default=_campaign_seed, verbose_name=_("seed"))
    launched_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("launched at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        permissions = [(LAUNCH_PERMISSION, "Can launch a campaign (issues its vouchers)")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.amount is None) == (self.percent is None):
            raise ValidationError("Give either an amount or a percentage.")
        if (
            self.segment_id is not None
            and self.merchant_id is not None
            and self.segment.merchant_id != self.merchant_id
        ):
            raise ValidationError({"segment": "The segment must be the campaign merchant's."})


class CampaignMember(models.Model):
    """Who the campaign drew, and whether they were held out or given `voucher` (a fact)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="members", verbose_name=_("campaign")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    holdout = models.BooleanField(verbose_name=_("holdout"))
    voucher = models.OneToOneField(
        Voucher,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voucher"),
    )

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")

    # Not unique per (campaign, customer): a merge may bring two members' rows to one survivor.

    def __str__(self) -> str:
        return f"{self.customer_id} ({'holdout' if self.holdout else 'targeted'})"
