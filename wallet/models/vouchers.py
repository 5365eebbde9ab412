import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from merchants.models import Merchant
from wallet.models.ledger import Transfer


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    POS = "pos", _("Pos")


class Voucher(models.Model):
    """Money off a basket: a fixed amount or a percentage, within limits.

    Uses are counted from `VoucherRedemption` rows (reserved or consumed) under a row lock on
    the voucher, so the limits hold however many tills race. Its value moves through the ledger
    from the merchant's voucher funding account into redemption clearing, like stored value.
    """

    class Kind(models.TextChoices):
        FIXED = "fixed", _("fixed amount")
        PERCENT = "percent", _("percentage of the basket")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISABLED = "disabled", _("Disabled")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("merchant")
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vouchers",
        help_text=_("Only this customer may use it; empty for a bearer voucher."),
        verbose_name=_("customer"),
    )
    code_hmac = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("code hmac")
    )
    code_last4 = models.CharField(max_length=4, editable=False, verbose_name=_("code last4"))
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    amount = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=_("amount")
    )
    percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, verbose_name=_("percent")
    )
    minimum_basket = models.DecimalField(
        max_digits=14, decimal_places=4, default=0, verbose_name=_("minimum basket")
    )
    valid_from = models.DateTimeField(null=True, blank=True, verbose_name=_("valid from"))
    valid_until = models.DateTimeField(null=True, blank=True, verbose_name=_("valid until"))
    channels = ArrayField(
        models.CharField(max_length=8, choices=Channel.choices), verbose_name=_("channels")
    )
    max_uses_total = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("1 = single use; empty = unlimited."),
        verbose_name=_("max uses total"),
    )
    max_uses_per_customer = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("max uses per customer")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    issue_reference = models.CharField(
        max_length=300,
        blank=True,
        default="",
        help_text=_(
            "The issuing request's Idempotency-Key, scoped to its API key: a retry after a crash "
            "finds this voucher instead of issuing a second."
        ),
        verbose_name=_("issue reference"),
    )

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "issue_reference"],
                condition=~Q(issue_reference=""),
                name="voucher_issue_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind="fixed", amount__gt=0, percent__isnull=True)
                | Q(kind="percent", amount__isnull=True, percent__gt=0, percent__lte=100),
                name="voucher_value_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(minimum_basket__gte=0), name="voucher_minimum_basket_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=models.F("valid_from")),
                name="voucher_validity_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(max_uses_total__isnull=True) | Q(max_uses_total__gt=0),
                name="voucher_max_uses_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_uses_per_customer__isnull=True) | Q(max_uses_per_customer__gt=0),
                name="voucher_max_uses_per_customer_positive",
            ),
            models.CheckConstraint(condition=~Q(channels=[]), name="voucher_has_a_channel"),
        ]

    def __str__(self) -> str:
        value = f"{self.amount} {self.currency}" if self.kind == "fixed" else f"{self.percent}%"
        return f"voucher …{self.code_last4} ({value})"


class VoucherRedemption(models.Model):
    """One use of a voucher: reserved on hold, consumed on capture, released on void,
    reinstated on refund (the use comes back, nothing is paid out)."""

    class Status(models.TextChoices):
        RESERVED = "reserved", _("Reserved")
        CONSUMED = "consumed", _("Consumed")
        RELEASED = "released", _("Released")
        REINSTATED = "reinstated", _("Reinstated")

    COUNTING = (Status.RESERVED, Status.CONSUMED)

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    voucher = models.ForeignKey(
        Voucher, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("voucher")
    )
    # A visible reverse relation: customer merges repoint every relation Customer lists, and
    # per-customer limits count these rows.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="voucher_redemptions",
        verbose_name=_("customer"),
    )
    amount = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=_("amount"))
    hold = models.OneToOneField(
        Transfer,
        on_delete=models.PROTECT,
        related_name="voucher_redemption",
        verbose_name=_("hold"),
    )
    reinstatement = models.OneToOneField(
        Transfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reinstatement"),
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RESERVED, verbose_name=_("status")
    )
    reference = models.CharField(
        max_length=200, blank=True, db_index=True, verbose_name=_("reference")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("voucher redemption")
        verbose_name_plural = _("voucher redemptions")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="voucher_redemption_positive")
        ]
        indexes = [models.Index(fields=["voucher", "status"])]

    def __str__(self) -> str:
        return f"{self.voucher} {self.status} {self.amount}"
