import uuid
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from merchants.models import Merchant
from wallet.models.ledger import LedgerAccount


class GiftCard(models.Model):
    """A stored-value card; its value is its ledger account's balance, nothing is kept here.

    The code is shown once at issue; only its keyed HMAC and last 4 characters are stored.
    """

    class Status(models.TextChoices):
        INACTIVE = "inactive", _("inactive (issued, not yet activated)")
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="gift_cards", verbose_name=_("merchant")
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gift_cards",
        verbose_name=_("customer"),
    )
    account = models.OneToOneField(
        LedgerAccount, on_delete=models.PROTECT, related_name="gift_card", verbose_name=_("account")
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    code_hmac = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("code hmac")
    )
    code_last4 = models.CharField(max_length=4, editable=False, verbose_name=_("code last4"))
    pin_hash = models.CharField(
        max_length=200, blank=True, editable=False, verbose_name=_("pin hash")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    issued_at = models.DateTimeField(auto_now_add=True, verbose_name=_("issued at"))
    status_changed_at = models.DateTimeField(auto_now_add=True, verbose_name=_("status changed at"))
    status_reason = models.TextField(blank=True, verbose_name=_("status reason"))

    class Meta:
        verbose_name = _("gift card")
        verbose_name_plural = _("gift cards")

    def __str__(self) -> str:
        return f"gift card …{self.code_last4} ({self.currency})"

    def is_past_expiry(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at
