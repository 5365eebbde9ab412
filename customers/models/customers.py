"""The customer, how strongly a till proved who they are, and the access a presentation grants."""

import uuid
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant


class Customer(models.Model):
    """One person as the merchant knows them across every channel.

    After a merge the absorbed customer stays as a tombstone whose `merged_into` points at the
    survivor; after erasure only the pseudonymous row remains, for the payments that cite it.
    """

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="customers", verbose_name=_("merchant")
    )
    first_name = models.CharField(max_length=150, blank=True, verbose_name=_("first name"))
    last_name = models.CharField(max_length=150, blank=True, verbose_name=_("last name"))
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="absorbed",
        verbose_name=_("merged into"),
    )
    erased_at = models.DateTimeField(null=True, blank=True, verbose_name=_("erased at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or str(self.public_id)


class Strength(models.IntegerChoices):
    """How strongly a till's presentation proved who the customer is; each level includes the last.

    WEAK: a typed identifier; finds the customer, attaches the sale, earns points, minimal profile.
    LOYALTY: the customer's own loyalty card scanned; may also spend their loyalty points and
    read and record their consent.
    WALLET: a one-time code read back from a verified phone or email; the whole wallet.

    The labels are codes the API returns, never translated.
    """

    WEAK = 0, "weak"
    LOYALTY = 1, "loyalty"
    WALLET = 2, "wallet"


class CustomerAccessGrant(models.Model):
    """A till may reach a customer only after identifying them; the grant expires.

    The grant itself is weak. A strong presentation adds a shorter-lived strength on top
    (`loyalty_strong_until`, `wallet_strong_until`), which lapses back to weak on its own.
    Merchant and staff keys reach every customer of their merchant and need no grant.
    """

    api_key = models.ForeignKey(
        "merchants.ApiKey",
        on_delete=models.CASCADE,
        related_name="customer_grants",
        verbose_name=_("api key"),
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="access_grants", verbose_name=_("customer")
    )
    granted_at = models.DateTimeField(verbose_name=_("granted at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    loyalty_strong_until = models.DateTimeField(
        null=True, blank=True, verbose_name=_("loyalty strong until")
    )
    wallet_strong_until = models.DateTimeField(
        null=True, blank=True, verbose_name=_("wallet strong until")
    )

    class Meta:
        verbose_name = _("customer access grant")
        verbose_name_plural = _("customer access grants")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "customer"], name="customer_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api_key} → {self.customer} until {self.expires_at:%Y-%m-%d %H:%M}"

    def strength_at(self, at: datetime) -> Strength | None:
        """The strength in force at `at`; None once the grant itself has expired."""
        if self.expires_at <= at:
            return None
        if self.wallet_strong_until is not None and self.wallet_strong_until > at:
            return Strength.WALLET
        if self.loyalty_strong_until is not None and self.loyalty_strong_until > at:
            return Strength.LOYALTY
        return Strength.WEAK
