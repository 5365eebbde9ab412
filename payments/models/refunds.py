"""Refunds and how each one is allocated across the payment's tenders."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.fields import MoneyField
from merchants.models import ApiKey
from payments.models.common import MONEY
from payments.models.payments import Payment
from payments.models.tenders import Tender


class Refund(models.Model):
    class Policy(models.TextChoices):
        REVERSE = "reverse", _("Reverse")
        PRO_RATA = "pro_rata", _("Pro Rata")
        EXPLICIT = "explicit", _("Explicit")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment")
    )
    api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("api key"),
    )
    idempotency_key = models.CharField(
        max_length=255, blank=True, verbose_name=_("idempotency key")
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    policy = models.CharField(
        max_length=16, choices=Policy.choices, default=Policy.REVERSE, verbose_name=_("policy")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    points_reversed = models.PositiveIntegerField(default=0, verbose_name=_("points reversed"))
    failure_code = models.CharField(max_length=64, blank=True, verbose_name=_("failure code"))
    external = models.BooleanField(
        default=False,
        help_text=_("Made at Stripe (its dashboard), recorded from the webhook."),
        verbose_name=_("external"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["api_key", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="refund_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.payment.public_id} ({self.status})"


class RefundAllocation(models.Model):
    """The part of a refund that one tender gives back (a voucher's part is reinstated)."""

    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("refund")
    )
    tender = models.ForeignKey(
        Tender,
        on_delete=models.PROTECT,
        related_name="refund_allocations",
        verbose_name=_("tender"),
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    points = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("points"))
    transfer = models.ForeignKey(
        "wallet.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("transfer"),
    )
    stripe_refund_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("stripe refund id")
    )

    class Meta:
        verbose_name = _("refund allocation")
        verbose_name_plural = _("refund allocations")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.UniqueConstraint(fields=["refund", "tender"], name="allocation_tender_unique"),
            models.UniqueConstraint(
                fields=["stripe_refund_id"],
                condition=~Q(stripe_refund_id=""),
                name="allocation_stripe_refund_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} from tender #{self.tender.sequence}"
