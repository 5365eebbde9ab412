"""A settlement: what one till (or the web shop) took in one business day and currency, per
tender method, against what the drawer, the card terminal and Stripe say.

The figures are derived from payments, refunds and till sessions, so they are recomputed freely
while the day is open or closed; once reconciled the row and its lines are locked (a trigger
refuses changes), and whatever reaches a locked day later is an adjustment line of the next
open period.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.actors import ACTOR_PATTERN
from config.fields import MoneyField
from merchants.models import Merchant, Store, Terminal
from payments.models import RefundAllocation, Tender

MONEY = {"max_digits": 14, "decimal_places": 2, "default_currency": None}


class SettlementStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    RECONCILED = "reconciled", _("Reconciled")
    RECONCILED_WITH_DIFFERENCES = "reconciled_with_differences", _("Reconciled with differences")


class Settlement(models.Model):
    """One store's till (or, with store and till empty, the merchant's web shop) for one day.

    Web payments carry no store, so the web shop settles on its own row per merchant, on the
    business day of `KASSA_WEB_TIMEZONE`.
    """

    Status = SettlementStatus
    LOCKED = (Status.RECONCILED, Status.RECONCILED_WITH_DIFFERENCES)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="settlements")
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="settlements"
    )
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, null=True, blank=True, related_name="settlements"
    )
    business_day = models.DateField()
    timezone = models.CharField(max_length=64, help_text="The zone the business day is read in.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.OPEN)
    computed_at = models.DateTimeField(
        help_text="Every payment and refund recorded up to then is in the figures."
    )
    # Cash: the till sessions opened that day.
    sessions_count = models.PositiveIntegerField(default=0)
    sessions_open = models.PositiveIntegerField(default=0)
    cash_expected = MoneyField(null=True, blank=True, **MONEY)
    cash_counted = MoneyField(null=True, blank=True, **MONEY)
    cash_variance = MoneyField(null=True, blank=True, **MONEY)
    # External card terminal: declared by the till at close, against the tenders recorded.
    external_declared = MoneyField(null=True, blank=True, **MONEY)
    external_recorded = MoneyField(null=True, blank=True, **MONEY)
    # Offline sales replayed from the till's journal.
    offline_count = models.PositiveIntegerField(default=0)
    offline_late_count = models.PositiveIntegerField(default=0)
    offline_total = MoneyField(null=True, blank=True, **MONEY)
    # Offline gift card sales the card could not pay on replay (tills.OfflineShortfall).
    shortfalls_count = models.PositiveIntegerField(default=0)
    shortfalls_open = MoneyField(null=True, blank=True, **MONEY)
    # Stripe balance transactions matched to this row's card tenders and refunds.
    card_gross = MoneyField(null=True, blank=True, **MONEY)
    card_fee = MoneyField(null=True, blank=True, **MONEY)
    card_net = MoneyField(null=True, blank=True, **MONEY)
    payouts = models.JSONField(default=list, blank=True)
    stripe_unmatched = models.JSONField(
        default=dict,
        blank=True,
        help_text="Tender ids without a balance transaction, and the reverse.",
    )
    differences = models.JSONField(
        default=list, blank=True, help_text="Each difference: code, amount, detail."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-business_day", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "store", "terminal", "business_day", "currency"],
                nulls_distinct=False,
                name="settlement_unique_per_day",
            ),
            models.CheckConstraint(
                condition=Q(store__isnull=False) | Q(terminal__isnull=True),
                name="settlement_web_has_no_till",
            ),
            models.CheckConstraint(
                condition=Q(accepted_by="") | Q(accepted_by__regex=ACTOR_PATTERN),
                name="settlement_accepted_by_actor",
            ),
            models.CheckConstraint(
                condition=~Q(status="reconciled_with_differences") | ~Q(reason=""),
                name="settlement_differences_need_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "business_day", "id"], name="settlement_day_idx")
        ]

    def __str__(self) -> str:
        where = (
            str(self.terminal)
            if self.terminal_id
            else (str(self.store) if self.store_id else "web")
        )
        return f"{where} {self.business_day} {self.currency} ({self.status})"

    @property
    def is_locked(self) -> bool:
        return self.status in self.LOCKED

    @property
    def till_label(self) -> str:
        return self.terminal.code if self.terminal is not None else "web"


class LineKind(models.TextChoices):
    DAY = "day"
    ADJUSTMENT = "adjustment"


class SettlementLine(models.Model):
    """One tender method's sales, refunds and net; an adjustment line carries what reached a
    locked day after it was reconciled (`adjusts`)."""

    Kind = LineKind

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    # Tender.Method's values, without its choices: a method added to payments needs no
    # migration here.
    method = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DAY)
    adjusts = models.ForeignKey(
        Settlement, on_delete=models.PROTECT, null=True, blank=True, related_name="adjusted_by"
    )
    sales = MoneyField(**MONEY)
    refunds = MoneyField(**MONEY)
    net = MoneyField(**MONEY)
    sales_count = models.PositiveIntegerField(default=0)
    refunds_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["kind", "method", "adjusts_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["settlement", "method", "kind", "adjusts"],
                nulls_distinct=False,
                name="settlement_line_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind="day", adjusts__isnull=True)
                | Q(kind="adjustment", adjusts__isnull=False),
                name="settlement_line_adjusts_iff_adjustment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.kind}: {self.net}"

    @property
    def method_label(self) -> str:
        return (
            Tender.Method(self.method).label if self.method in Tender.Method.values else self.method
        )


class SettlementAdjustment(models.Model):
    """A tender sold, or a refund allocation, that reached a locked day late: claimed once, by
    the open settlement whose adjustment line carries it."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="adjustments")
    adjusts = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="+")
    tender = models.OneToOneField(
        Tender, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund_allocation = models.OneToOneField(
        RefundAllocation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(tender__isnull=True) ^ Q(refund_allocation__isnull=True),
                name="settlement_adjustment_one_item",
            )
        ]

    def __str__(self) -> str:
        return f"adjustment of {self.adjusts_id} in {self.settlement_id}"
