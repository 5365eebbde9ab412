import uuid

from django.db import models

from customers.models import Customer
from merchants.models import Merchant


class StripeCustomer(models.Model):
    """The Stripe Customer a Kassa customer's cards are attached to, created on first attach.

    Not unique per customer: a merge moves the absorbed customer's row to the survivor, and both
    Stripe Customers keep working for the cards attached to them.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="stripe_customers"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stripe_id


class BankCard(models.Model):
    """A card saved at Stripe. Only the PaymentMethod id and display details are kept here."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="bank_cards")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bank_cards")
    stripe_customer_id = models.CharField(
        max_length=255, help_text="The Stripe Customer the PaymentMethod is attached to."
    )
    payment_method_id = models.CharField(max_length=255, unique=True)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    fingerprint = models.CharField(max_length=64, blank=True)
    default_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The live card set default most recently is the default (merge-safe).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.brand} …{self.last4} {self.exp_month:02d}/{self.exp_year}"
