"""Customer knowledge: products, purchases (facts), touchpoints, derived profiles and offers.

Purchases and feedback are what happened; profiles and recommendations are derived under the
`personalisation` consent and deleted when it is withdrawn.
"""

from django.db import models

from customers.models import Customer
from merchants.models import Merchant


class Product(models.Model):
    """What a SKU is, as last seen on a basket line or an import."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=100, blank=True)
    brand = models.CharField(max_length=100, blank=True)
    last_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="insights_product_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()


class Purchase(models.Model):
    """One purchased line; `line_key` makes every source idempotent (import line, payment line)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=16, blank=True)
    order_ref = models.CharField(max_length=100, blank=True)
    line_key = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "line_key"], name="insights_purchase_key")
        ]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="insights_purchase_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class EventKind(models.TextChoices):
    PRODUCT_VIEWED = "product_viewed"
    ADDED_TO_BASKET = "added_to_basket"
    SEARCH = "search"
    STORE_VISIT = "store_visit"
    OFFER_SHOWN = "offer_shown"
    OFFER_CLICKED = "offer_clicked"
    OFFER_DISMISSED = "offer_dismissed"


class Touchpoint(models.Model):
    """One event: a consenting customer's, or anonymous (a device id, or nobody known)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, related_name="+")
    device_id = models.CharField(max_length=100, blank=True, db_index=True)
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    sku = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"


class EventCount(models.Model):
    """Events kept only as a count: no consent to tie them to the person."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "day", "kind"], name="insights_count_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.count}"


class DeviceLink(models.Model):
    """A device that identified as a customer; its later anonymous events are theirs."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    device_id = models.CharField(max_length=100)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "device_id"], name="insights_device_key")
        ]

    def __str__(self) -> str:
        return self.device_id


class Profile(models.Model):
    """Derived features of a consenting customer (deleted on withdrawal)."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="+")
    recency_days = models.PositiveIntegerField(null=True)
    frequency = models.PositiveIntegerField(default=0)
    spend_by_channel = models.JSONField(default=dict)
    favourite_categories = models.JSONField(default=list)
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of {self.customer_id}"


class Recommendation(models.Model):
    """A precomputed offer for a consenting customer, best first (deleted on withdrawal)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    score = models.FloatField()
    reason = models.CharField(max_length=32)
    model = models.CharField(max_length=32)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "sku"], name="insights_reco_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.score:.3f})"


class Popular(models.Model):
    """Precomputed popular products per merchant and channel ('' = every channel)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=16, blank=True)
    sku = models.CharField(max_length=64)
    rank = models.PositiveIntegerField()
    score = models.FloatField()

    class Meta:
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
        NOT_INTERESTED = "not_interested"
        CLICKED = "clicked"
        REDEEMED = "redeemed"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    category = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "kind"], name="insights_feedback_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.sku}"


class Watermark(models.Model):
    """How far a periodic sync has read (e.g. captured payments for products_sync)."""

    name = models.CharField(max_length=64, unique=True)
    value = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.value}"
