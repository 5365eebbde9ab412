"""The portal's own records: the one-time codes of sign-in, registration and card linking."""

from django.db import models

from customers.models import Customer
from merchants.models import Merchant


class OneTimeCode(models.Model):
    """A 6-digit code sent to an email or phone; only its keyed HMAC is stored.

    The rows are also the rate-limit and lockout counters: sends are counted per destination and
    per client IP, and five wrong codes lock the destination (`locked_until`).
    A row without `customer` for a sign-in is a decoy: the identifier was unknown or unverified,
    nothing was sent, and no code will ever match, so the answer cannot tell them apart.
    """

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in"
        REGISTER = "register"
        LINK_LOYALTY = "link_loyalty"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    destination = models.CharField(max_length=320, help_text="Normalised email or phone.")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="portal_codes"
    )
    payload = models.JSONField(default=dict, blank=True)
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["merchant", "destination", "-created_at"], name="portal_code_dest"
            ),
            models.Index(fields=["client_ip", "-created_at"], name="portal_code_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} code #{self.pk}"
