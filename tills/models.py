import uuid

from django.db import models
from django.db.models import Q

from config.actors import ACTOR_PATTERN
from config.fields import MoneyField
from merchants.models import ApiKey, Terminal

MONEY = {"max_digits": 14, "decimal_places": 2, "default_currency": None}


class TillSession(models.Model):
    """One drawer's shift on a terminal: opened with a float, closed with the counted cash.

    Closing fills the expected cash, the variance and the Z report once (a second close is a
    conflict); a terminal has at most one open session.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="till_sessions")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="till_sessions")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    float_amount = MoneyField(**MONEY)
    opened_at = models.DateTimeField(auto_now_add=True)
    opened_by = models.CharField(max_length=200)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    counted_amount = MoneyField(null=True, blank=True, **MONEY)
    expected_amount = MoneyField(null=True, blank=True, **MONEY)
    variance_amount = MoneyField(null=True, blank=True, **MONEY)
    variance_accepted_by = models.CharField(max_length=200, blank=True)
    external_card_declared = MoneyField(
        null=True,
        blank=True,
        help_text="The external card terminal's own total for the shift, declared at close.",
        **MONEY,
    )
    z_report = models.JSONField(default=dict, blank=True)

    class Meta:
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
    IN = "in"
    OUT = "out"


class CashMovement(models.Model):
    """Cash put into or taken out of the drawer outside a sale (append-only)."""

    Kind = CashMovementKind

    session = models.ForeignKey(TillSession, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    amount = MoneyField(**MONEY)
    reason = models.CharField(max_length=500)
    actor = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
