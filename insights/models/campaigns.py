"""Campaigns: a voucher for every member of a segment but a random holdout group, and who was
drawn.
"""

import secrets
import uuid

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from insights.models.segments import Segment
from merchants.models import Merchant
from wallet.models import Channel as VoucherChannel
from wallet.models import Voucher

LAUNCH_PERMISSION = "launch_campaign"


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
