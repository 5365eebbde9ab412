"""A tender: the share of a payment one method pays (card, cash, gift card, voucher, points)."""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from config.fields import MoneyField
from payments.models.common import MONEY, TenderStatus
from payments.models.payments import Payment


class Tender(models.Model):
    """One method's share of a payment, with the reference of its hold or authorisation."""

    class Method(models.TextChoices):
        VOUCHER = "voucher", _("Voucher")
        GIFT_CARD = "gift_card", _("Gift Card")
        LOYALTY_POINTS = "loyalty_points", _("Loyalty Points")
        CARD = "card", _("Card")
        CASH = "cash", _("Cash")
        EXTERNAL_CARD = "external_card", _("External Card")
        OFFLINE_GIFT_CARD = "offline_gift_card", _("gift card taken offline (replayed)")

    Status = TenderStatus

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="tenders", verbose_name=_("payment")
    )
    sequence = models.PositiveSmallIntegerField(verbose_name=_("sequence"))
    method = models.CharField(max_length=24, choices=Method.choices, verbose_name=_("method"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    captured_amount = MoneyField(**MONEY, verbose_name=_("captured amount"))
    refunded_amount = MoneyField(**MONEY, verbose_name=_("refunded amount"))
    points = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("points"))
    gift_card = models.ForeignKey(
        "wallet.GiftCard",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gift card"),
    )
    voucher = models.ForeignKey(
        "wallet.Voucher",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voucher"),
    )
    voucher_redemption = models.ForeignKey(
        "wallet.VoucherRedemption",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voucher redemption"),
    )
    loyalty_account = models.ForeignKey(
        "wallet.LoyaltyAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("loyalty account"),
    )
    bank_card = models.ForeignKey(
        "wallet.BankCard",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("bank card"),
    )
    wallet_transfer = models.ForeignKey(
        "wallet.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "The hold on the instrument (or, for a sale captured at once, the redemption)."
        ),
        verbose_name=_("wallet transfer"),
    )
    stripe_payment_method_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("stripe payment method id")
    )
    stripe_payment_intent_id = models.CharField(
        max_length=64, blank=True, db_index=True, verbose_name=_("stripe payment intent id")
    )
    stripe_charge_id = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_(
            "The captured charge: what Stripe's balance transactions name as their source."
        ),
        verbose_name=_("stripe charge id"),
    )
    stripe_client_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Handed to the web shop while the card waits for 3-D Secure (Stripe.js)."),
        verbose_name=_("stripe client secret"),
    )
    external_reference = models.CharField(
        max_length=100, blank=True, verbose_name=_("external reference")
    )
    failure_code = models.CharField(max_length=64, blank=True, verbose_name=_("failure code"))
    failure_detail = models.TextField(blank=True, verbose_name=_("failure detail"))
    disputed = models.BooleanField(default=False, verbose_name=_("disputed"))

    class Meta:
        verbose_name = _("tender")
        verbose_name_plural = _("tenders")
        ordering = ["payment_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "sequence"], name="tender_sequence_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="tender_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0) & Q(captured_amount__lte=F("amount")),
                name="tender_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("captured_amount")),
                name="tender_refunded_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.method} {self.amount} {self.status}"
