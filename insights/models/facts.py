"""What happened: products, purchases, touchpoints and their counts, device links, feedback on
offers, and how far each sync has read.
"""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from merchants.models import Merchant


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
