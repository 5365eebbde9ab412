"""The payment: one sale's amount, split into tenders, and its lifecycle."""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from config.fields import MoneyField
from customers.models import Customer
from merchants.models import ApiKey, Merchant, Store, Terminal
from payments.models.common import MONEY, PaymentChannel, PaymentStatus


class Payment(models.Model):
    """One checkout, paid by one or more tenders that succeed or fail together.

    `authorizing`, `capturing` and `voiding` are the intermediate states a crash can leave
    behind; the recovery task finishes or rolls back every payment found in one of them.
    `requires_action` waits for the cardholder to authenticate a card (3-D Secure) in the web
    shop, holds kept; it concludes on confirm or Stripe's webhook, or is voided after a time-out.
    """

    Channel = PaymentChannel

    Status = PaymentStatus

    INTERMEDIATE = (Status.AUTHORIZING, Status.CAPTURING, Status.VOIDING)

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="payments", verbose_name=_("merchant")
    )
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("store"),
    )
    terminal = models.ForeignKey(
        Terminal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("terminal"),
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, related_name="payments", verbose_name=_("api key")
    )
    idempotency_key = models.CharField(max_length=255, verbose_name=_("idempotency key"))
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("customer"),
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, verbose_name=_("channel"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.AUTHORIZING, verbose_name=_("status")
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    captured_amount = MoneyField(**MONEY, verbose_name=_("captured amount"))
    refunded_amount = MoneyField(**MONEY, verbose_name=_("refunded amount"))
    capture_requested = models.BooleanField(default=False, verbose_name=_("capture requested"))
    points_earned = models.PositiveIntegerField(default=0, verbose_name=_("points earned"))
    loyalty_earn_transfer = models.ForeignKey(
        "wallet.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("loyalty earn transfer"),
    )
    external_reference = models.CharField(
        max_length=200, blank=True, db_index=True, verbose_name=_("external reference")
    )
    basket = models.JSONField(default=list, blank=True, verbose_name=_("basket"))
    failure_code = models.CharField(max_length=64, blank=True, verbose_name=_("failure code"))
    failure_detail = models.TextField(blank=True, verbose_name=_("failure detail"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )
    occurred_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When a till made the sale offline (its own clock)."),
        verbose_name=_("occurred at"),
    )
    offline = models.BooleanField(
        default=False, help_text=_("Made offline, replayed later."), verbose_name=_("offline")
    )
    offline_late = models.BooleanField(
        default=False,
        help_text=_("Replayed after the offline policy's maximum age: flagged."),
        verbose_name=_("offline late"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    authorized_at = models.DateTimeField(null=True, blank=True, verbose_name=_("authorized at"))
    captured_at = models.DateTimeField(null=True, blank=True, verbose_name=_("captured at"))
    voided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("voided at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "idempotency_key"], name="payment_idempotency_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0) & Q(captured_amount__lte=F("amount")),
                name="payment_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("captured_amount")),
                name="payment_refunded_within_captured",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="payment_status_idx")]

    def __str__(self) -> str:
        return str(self.public_id)
