import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from merchants.models import Merchant


class StripeCustomer(models.Model):
    """The Stripe Customer a Kassa customer's cards are attached to, created on first attach.

    Not unique per customer: a merge moves the absorbed customer's row to the survivor, and both
    Stripe Customers keep working for the cards attached to them.
    """

    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="stripe_customers",
        verbose_name=_("customer"),
    )
    stripe_id = models.CharField(max_length=255, unique=True, verbose_name=_("stripe id"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("stripe customer")
        verbose_name_plural = _("stripe customers")

    def __str__(self) -> str:
        return self.stripe_id


class BankCard(models.Model):
    """A card saved at Stripe. Only the PaymentMethod id and display details are kept here."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="bank_cards", verbose_name=_("merchant")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="bank_cards", verbose_name=_("customer")
    )
    stripe_customer_id = models.CharField(
        max_length=255,
        help_text=_("The Stripe Customer the PaymentMethod is attached to."),
        verbose_name=_("stripe customer id"),
    )
    payment_method_id = models.CharField(
        max_length=255, unique=True, verbose_name=_("payment method id")
    )
    brand = models.CharField(max_length=32, verbose_name=_("brand"))
    last4 = models.CharField(max_length=4, verbose_name=_("last4"))
    exp_month = models.PositiveSmallIntegerField(verbose_name=_("exp month"))
    exp_year = models.PositiveSmallIntegerField(verbose_name=_("exp year"))
    fingerprint = models.CharField(max_length=64, blank=True, verbose_name=_("fingerprint"))
    default_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("The live card set default most recently is the default (merge-safe)."),
        verbose_name=_("default since"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    removed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("removed at"))

    class Meta:
        verbose_name = _("bank card")
        verbose_name_plural = _("bank cards")

    def __str__(self) -> str:
        return f"{self.brand} …{self.last4} {self.exp_month:02d}/{self.exp_year}"
