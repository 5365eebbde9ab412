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

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="settlements", verbose_name=_("merchant")
    )
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
        verbose_name=_("store"),
    )
    terminal = models.ForeignKey(
        Terminal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
        verbose_name=_("terminal"),
    )
    business_day = models.DateField(verbose_name=_("business day"))
    timezone = models.CharField(
        max_length=64,
        help_text=_("The zone the business day is read in."),
        verbose_name=_("timezone"),
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    status = models.CharField(
        max_length=32, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    computed_at = models.DateTimeField(
        help_text=_("Every payment and refund recorded up to then is in the figures."),
        verbose_name=_("computed at"),
    )
    # Cash: the till sessions opened that day.
    sessions_count = models.PositiveIntegerField(default=0, verbose_name=_("sessions count"))
    sessions_open = models.PositiveIntegerField(default=0, verbose_name=_("sessions open"))
    cash_expected = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("cash expected"))
    cash_counted = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("cash counted"))
    cash_variance = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("cash variance"))
    # External card terminal: declared by the till at close, against the tenders recorded.
    external_declared = MoneyField(
        null=True, blank=True, **MONEY, verbose_name=_("external declared")
    )
    external_recorded = MoneyField(
        null=True, blank=True, **MONEY, verbose_name=_("external recorded")
    )
    # Offline sales replayed from the till's journal.
    offline_count = models.PositiveIntegerField(default=0, verbose_name=_("offline count"))
    offline_late_count = models.PositiveIntegerField(
        default=0, verbose_name=_("offline late count")
    )
    offline_total = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("offline total"))
    # Offline gift card sales the card could not pay on replay (tills.OfflineShortfall).
    shortfalls_count = models.PositiveIntegerField(default=0, verbose_name=_("shortfalls count"))
    shortfalls_open = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("shortfalls open"))
    # Stripe balance transactions matched to this row's card tenders and refunds.
    card_gross = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("card gross"))
    card_fee = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("card fee"))
    card_net = MoneyField(null=True, blank=True, **MONEY, verbose_name=_("card net"))
    payouts = models.JSONField(default=list, blank=True, verbose_name=_("payouts"))
    stripe_unmatched = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Tender ids without a balance transaction, and the reverse."),
        verbose_name=_("stripe unmatched"),
    )
    differences = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Each difference: code, amount, detail."),
        verbose_name=_("differences"),
    )
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    closed_by = models.CharField(max_length=200, blank=True, verbose_name=_("closed by"))
    reconciled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reconciled at"))
    accepted_by = models.CharField(max_length=200, blank=True, verbose_name=_("accepted by"))
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))

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
    DAY = "day", _("Day")
    ADJUSTMENT = "adjustment", _("Adjustment")


class SettlementLine(models.Model):
    """One tender method's sales, refunds and net; an adjustment line carries what reached a
    locked day after it was reconciled (`adjusts`)."""

    Kind = LineKind

    settlement = models.ForeignKey(
        Settlement, on_delete=models.CASCADE, related_name="lines", verbose_name=_("settlement")
    )
    # Tender.Method's values, without its choices: a method added to payments needs no
    # migration here.
    method = models.CharField(max_length=32, verbose_name=_("method"))
    kind = models.CharField(
        max_length=16, choices=Kind.choices, default=Kind.DAY, verbose_name=_("kind")
    )
    adjusts = models.ForeignKey(
        Settlement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adjusted_by",
        verbose_name=_("adjusts"),
    )
    sales = MoneyField(**MONEY, verbose_name=_("sales"))
    refunds = MoneyField(**MONEY, verbose_name=_("refunds"))
    net = MoneyField(**MONEY, verbose_name=_("net"))
    sales_count = models.PositiveIntegerField(default=0, verbose_name=_("sales count"))
    refunds_count = models.PositiveIntegerField(default=0, verbose_name=_("refunds count"))

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
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
            str(Tender.Method(self.method).label)
            if self.method in Tender.Method.values
            else self.method
        )


class SettlementAdjustment(models.Model):
    """A tender sold, or a refund allocation, that reached a locked day late: claimed once, by
    the open settlement whose adjustment line carries it."""

    settlement = models.ForeignKey(
        Settlement,
        on_delete=models.CASCADE,
        related_name="adjustments",
        verbose_name=_("settlement"),
    )
    adjusts = models.ForeignKey(
        Settlement, on_delete=models.PROTECT, related_name="+", verbose_name=_("adjusts")
    )
    tender = models.OneToOneField(
        Tender,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tender"),
    )
    refund_allocation = models.OneToOneField(
        RefundAllocation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("refund allocation"),
    )

    class Meta:
        verbose_name = _("settlement adjustment")
        verbose_name_plural = _("settlement adjustments")
        constraints = [
            models.CheckConstraint(
                condition=Q(tender__isnull=True) ^ Q(refund_allocation__isnull=True),
                name="settlement_adjustment_one_item",
            )
        ]

    def __str__(self) -> str:
        return f"adjustment of {self.adjusts_id} in {self.settlement_id}"
