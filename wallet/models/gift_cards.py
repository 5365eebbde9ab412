import uuid
from datetime import datetime

from django.db import models

from customers.models import Customer
from merchants.models import Merchant
from wallet.models.ledger import LedgerAccount


class GiftCard(models.Model):
    """A stored-value card; its value is its ledger account's balance, nothing is kept here.

    The code is shown once at issue; only its keyed HMAC and last 4 characters are stored.
    """

    class Status(models.TextChoices):
        INACTIVE = "inactive", "inactive (issued, not yet activated)"
        ACTIVE = "active"
        BLOCKED = "blocked"
        EXPIRED = "expired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="gift_cards")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="gift_cards"
    )
    account = models.OneToOneField(
        LedgerAccount, on_delete=models.PROTECT, related_name="gift_card"
    )
    currency = models.CharField(max_length=3)
    code_hmac = models.CharField(max_length=64, unique=True, editable=False)
    code_last4 = models.CharField(max_length=4, editable=False)
    pin_hash = models.CharField(max_length=200, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    status_reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"gift card …{self.code_last4} ({self.currency})"

    def is_past_expiry(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at
