import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from merchants.models import Merchant
from wallet.models.ledger import LedgerAccount, Transfer
from wallet.units import points_unit


class LoyaltyProgramme(models.Model):
    """Earn points on captured spend, burn them as money; one programme per merchant and currency.

    `earn_rate`: points per whole currency unit spent (rounded down to whole points).
    `point_value`: the money one point is worth when burnt.
    """

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.PROTECT,
        related_name="loyalty_programmes",
        verbose_name=_("merchant"),
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    earn_rate = models.DecimalField(max_digits=10, decimal_places=4, verbose_name=_("earn rate"))
    point_value = models.DecimalField(
        max_digits=10, decimal_places=6, verbose_name=_("point value")
    )
    points_validity_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Earned points expire after this many days; empty = never."),
        verbose_name=_("points validity days"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programmes")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency"], name="loyalty_programme_per_currency"
            ),
            models.CheckConstraint(
                condition=Q(earn_rate__gte=0) & Q(point_value__gt=0),
                name="loyalty_programme_rates_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    @property
    def unit(self) -> str:
        return points_unit(self.currency)


class LoyaltyAccount(models.Model):
    """A customer's points in one programme. After a merge a customer may hold two; the oldest
    open one earns (see `selectors.loyalty_account_primary`)."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    programme = models.ForeignKey(
        LoyaltyProgramme,
        on_delete=models.PROTECT,
        related_name="accounts",
        verbose_name=_("programme"),
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="loyalty_accounts",
        verbose_name=_("customer"),
    )
    account = models.OneToOneField(
        LedgerAccount,
        on_delete=models.PROTECT,
        related_name="loyalty_account",
        verbose_name=_("account"),
    )
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")

    def __str__(self) -> str:
        return f"{self.programme.name} account of {self.customer}"


class LoyaltyLot(models.Model):
    """Points credited together, expiring together (append-only).

    An earn (or a refunded burn, or a positive adjustment) adds a lot; an earn reversal adds a
    negative lot with the earn's expiry. Which lots have been used is not stored: debits consume
    lots soonest-expiring first, so the points still alive in expired lots are derived from the
    lots and the account's debits (see `services.loyalty.loyalty_points_expire`).
    """

    account = models.ForeignKey(
        LoyaltyAccount, on_delete=models.PROTECT, related_name="lots", verbose_name=_("account")
    )
    transfer = models.OneToOneField(
        Transfer, on_delete=models.PROTECT, related_name="+", verbose_name=_("transfer")
    )
    points = models.IntegerField(verbose_name=_("points"))
    expires_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("expires at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("loyalty lot")
        verbose_name_plural = _("loyalty lots")
        constraints = [models.CheckConstraint(condition=~Q(points=0), name="loyalty_lot_not_zero")]

    def __str__(self) -> str:
        return f"{self.points} points until {self.expires_at}"
