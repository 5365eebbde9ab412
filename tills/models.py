import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from moneyed import Money

from config.actors import ACTOR_PATTERN
from config.fields import MoneyField
from merchants.models import ApiKey, Merchant, Terminal
from wallet.models import GiftCard, LedgerAccount, Transfer

MONEY = {"max_digits": 14, "decimal_places": 2, "default_currency": None}


class TillSession(models.Model):
    """One drawer's shift on a terminal: opened with a float, closed with the counted cash.

    Closing fills the expected cash, the variance and the Z report once (a second close is a
    conflict); a terminal has at most one open session.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, related_name="till_sessions", verbose_name=_("terminal")
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, related_name="till_sessions", verbose_name=_("api key")
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    float_amount = MoneyField(**MONEY, verbose_name=_("float amount"))
    opened_at = models.DateTimeField(auto_now_add=True, verbose_name=_("opened at"))
    opened_by = models.CharField(max_length=200, verbose_name=_("opened by"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    closed_by = models.CharField(max_length=200, blank=True, verbose_name=_("closed by"))
    counted_amount = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("counted amount"))
    expected_amount = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("expected amount"))
    variance_amount = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("variance amount"))
    variance_accepted_by = models.CharField(
        max_length=200, blank=True, verbose_name=_("variance accepted by")
    )
    external_card_declared = MoneyField(
        null=True,
        blank=True,
        help_text=_("The external card terminal's own total for the shift, declared at close."),
        **MONEY,
        verbose_name=_("external card declared"),
    )
    z_report = models.JSONField(default=dict, blank=True, verbose_name=_("z report"))

    class Meta:
        verbose_name = _("till session")
        verbose_name_plural = _("till sessions")
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"],
                condition=Q(status="open"),
                name="till_session_one_open_per_terminal",
            ),
            models.CheckConstraint(condition=Q(float_amount__gte=0), name="till_float_positive"),
            models.CheckConstraint(
                condition=Q(opened_by__regex=ACTOR_PATTERN), name="till_session_actor_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.terminal} {self.opened_at:%Y-%m-%d %H:%M} ({self.status})"


class CashMovementKind(models.TextChoices):
    IN = "in", _("In")
    OUT = "out", _("Out")


class CashMovement(models.Model):
    """Cash put into or taken out of the drawer outside a sale (append-only)."""

    Kind = CashMovementKind

    session = models.ForeignKey(
        TillSession, on_delete=models.PROTECT, related_name="movements", verbose_name=_("session")
    )
    kind = models.CharField(max_length=4, choices=Kind.choices, verbose_name=_("kind"))
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    reason = models.CharField(max_length=500, verbose_name=_("reason"))
    actor = models.CharField(max_length=200, verbose_name=_("actor"))
    idempotency_key = models.CharField(max_length=255, verbose_name=_("idempotency key"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("cash movement")
        verbose_name_plural = _("cash movements")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_movement_positive"),
            models.CheckConstraint(
                condition=Q(actor__regex=ACTOR_PATTERN), name="cash_movement_actor_valid"
            ),
            models.UniqueConstraint(
                fields=["session", "idempotency_key"], name="cash_movement_idempotency_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}: {self.reason}"


class OfflineFloat(models.Model):
    """A merchant's offline float in one currency: how much stored value its tills may take
    offline, all tills together. Its ledger account is an instrument account (never below zero,
    wallet.models.ledger), funded by the back office; each till's allowance is a hold on it."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    account = models.OneToOneField(
        LedgerAccount, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("offline float")
        verbose_name_plural = _("offline floats")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "currency"], name="offline_float_unique")
        ]

    def __str__(self) -> str:
        return f"offline float {self.currency} ({self.merchant})"


class OfflineAllowance(models.Model):
    """What one till may accept in gift cards while offline: reserved while online as a hold on
    the float (`hold`, replaced whenever a shortfall uses part of it), released or renewed by
    the till. `used` is what shortfalls took from it."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    float = models.ForeignKey(
        OfflineFloat, on_delete=models.PROTECT, related_name="allowances", verbose_name=_("float")
    )
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, related_name="+", verbose_name=_("terminal")
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    used = MoneyField(**MONEY, verbose_name=_("used"))
    hold = models.OneToOneField(
        Transfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hold"),
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    reserved_by = models.CharField(max_length=200, verbose_name=_("reserved by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    released_at = models.DateTimeField(null=True, blank=True, verbose_name=_("released at"))

    class Meta:
        verbose_name = _("offline allowance")
        verbose_name_plural = _("offline allowances")
        constraints = [
            models.UniqueConstraint(
                fields=["terminal", "float"],
                condition=Q(status="active"),
                name="offline_allowance_one_active",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="offline_allowance_positive"),
            models.CheckConstraint(
                condition=Q(used__gte=0), name="offline_allowance_used_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.terminal} {self.amount} ({self.status})"

    @property
    def remaining(self) -> Money:
        left = self.amount - self.used
        return left if left.amount > 0 else Money(0, self.amount.currency)


class OfflineShortfall(models.Model):
    """A receivable: the part of an offline gift card sale the card could not pay on replay.
    The sale stands (the goods left the store); the float paid the gap, and the back office
    recovers it from the customer or writes it off. The card never goes below zero."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RECOVERED = "recovered", _("Recovered")
        WRITTEN_OFF = "written_off", _("written off")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    allowance = models.ForeignKey(
        OfflineAllowance,
        on_delete=models.PROTECT,
        related_name="shortfalls",
        verbose_name=_("allowance"),
    )
    # By public id: the shortfall is written while the sale's rows are (FKs are checked at
    # commit), before they have a primary key.
    payment = models.ForeignKey(
        "payments.Payment",
        on_delete=models.PROTECT,
        to_field="public_id",
        related_name="+",
        verbose_name=_("payment"),
    )
    tender = models.OneToOneField(
        "payments.Tender",
        on_delete=models.PROTECT,
        to_field="public_id",
        related_name="+",
        verbose_name=_("tender"),
    )
    gift_card = models.ForeignKey(
        GiftCard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gift card"),
    )
    code_last4 = models.CharField(max_length=4, blank=True, verbose_name=_("code last4"))
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    card_paid = MoneyField(**MONEY, verbose_name=_("card paid"))
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    resolved_by = models.CharField(max_length=200, blank=True, verbose_name=_("resolved by"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    resolution_reason = models.CharField(
        max_length=500, blank=True, verbose_name=_("resolution reason")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("offline shortfall")
        verbose_name_plural = _("offline shortfalls")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="offline_shortfall_positive")
        ]

    def __str__(self) -> str:
        return f"shortfall {self.amount} ({self.status})"
