import uuid

from django.db import models

from merchants.models import Merchant


class Customer(models.Model):
    """One person as the merchant knows them across every channel.

    After a merge the absorbed customer stays as a tombstone whose `merged_into` points at the
    survivor; after erasure only the pseudonymous row remains, for the payments that cite it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="customers")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="absorbed"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or str(self.public_id)


class CustomerAccessGrant(models.Model):
    """A till may reach a customer only after identifying them; the grant expires.

    Merchant and staff keys reach every customer of their merchant and need no grant.
    """

    api_key = models.ForeignKey(
        "merchants.ApiKey", on_delete=models.CASCADE, related_name="customer_grants"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="access_grants")
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "customer"], name="customer_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api_key} → {self.customer} until {self.expires_at:%Y-%m-%d %H:%M}"
