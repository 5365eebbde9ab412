"""The double-entry ledger, modelled on TigerBeetle's accounts and two-phase transfers.

Every movement of stored value is a `Transfer` from a debit account to a credit account in one
unit. A transfer is `posted` at once or starts `pending` (a hold) and is later resolved by a
second, `post_pending` or `void_pending`, transfer that points at it. Nothing is ever updated:
a hold's state is read from whether a resolution exists, and the one-to-one link makes a second
resolution impossible in the database. Each transfer writes its `Entry` rows, one per change of
one of an account's four counters; per transfer and layer, credits equal debits.

Instrument accounts (a gift card, a loyalty account) keep the four counters cached on their row,
changed only under `select_for_update` and guarded by a CHECK that debits never exceed posted
credits, i.e. the available balance never goes below zero. System accounts (issuance, clearing,
breakage, ...) have no limit to enforce and are written by every payment of a merchant, so they
keep no cached counters (they would be a lock every payment queues on); their balance is always
summed from entries.
"""

import uuid
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from config.actors import ACTOR_PATTERN
from merchants.models import Merchant
from wallet.units import UNIT_MAX_LENGTH

AMOUNT_DIGITS = 20
# Room for "api_key:<key pk>:" and an Idempotency-Key of up to 255 characters.
REFERENCE_MAX_LENGTH = 300
AMOUNT_PLACES = 4


def _amount_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)


SYSTEM_KINDS = (
    "issuance",
    "redemption_clearing",
    "breakage",
    "points_expense",
    "voucher_funding",
    "adjustments",
)


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        GIFT_CARD = "gift_card", _("Gift Card")
        LOYALTY = "loyalty", _("Loyalty")
        ISSUANCE = "issuance", _("issuance (value sold or granted)")
        REDEMPTION_CLEARING = "redemption_clearing", _("redemption clearing")
        BREAKAGE = "breakage", _("breakage (expired value)")
        POINTS_EXPENSE = "points_expense", _("points expense")
        VOUCHER_FUNDING = "voucher_funding", _("voucher funding (marketing)")
        ADJUSTMENTS = "adjustments", _("manual adjustments")
        OFFLINE_FLOAT = "offline_float", _("offline float (tills' stored value allowance)")

    SYSTEM_KINDS = SYSTEM_KINDS

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    kind = models.CharField(max_length=32, choices=Kind.choices, verbose_name=_("kind"))
    unit = models.CharField(max_length=UNIT_MAX_LENGTH, verbose_name=_("unit"))
    is_system = models.BooleanField(verbose_name=_("is system"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    debits_pending = _amount_field(default=Decimal(0), verbose_name=_("debits pending"))
    debits_posted = _amount_field(default=Decimal(0), verbose_name=_("debits posted"))
    credits_pending = _amount_field(default=Decimal(0), verbose_name=_("credits pending"))
    credits_posted = _amount_field(default=Decimal(0), verbose_name=_("credits posted"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(is_system=True, kind__in=SYSTEM_KINDS)
                | (Q(is_system=False) & ~Q(kind__in=SYSTEM_KINDS)),
                name="ledger_account_system_kind",
            ),
            models.CheckConstraint(
                condition=Q(debits_pending__gte=0, debits_posted__gte=0)
                & Q(credits_pending__gte=0, credits_posted__gte=0),
                name="ledger_account_counters_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    is_system=True,
                    debits_pending=0,
                    debits_posted=0,
                    credits_pending=0,
                    credits_posted=0,
                )
                | Q(
                    is_system=False,
                    credits_posted__gte=F("debits_posted") + F("debits_pending"),
                ),
                name="ledger_account_available_not_negative",
            ),
            models.UniqueConstraint(
                fields=["merchant", "kind", "unit"],
                condition=Q(is_system=True),
                name="ledger_system_account_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.unit}]"

    @property
    def balance(self) -> Decimal:
        """Posted value: what the instrument holds before any hold is taken off."""
        return self.credits_posted - self.debits_posted

    @property
    def held(self) -> Decimal:
        return self.debits_pending

    @property
    def available(self) -> Decimal:
        return self.credits_posted - self.debits_posted - self.debits_pending


class Transfer(models.Model):
    class Kind(models.TextChoices):
        POSTED = "posted", _("posted (single phase)")
        PENDING = "pending", _("pending (hold)")
        POST_PENDING = "post_pending", _("posts a hold")
        VOID_PENDING = "void_pending", _("voids a hold")

    class Code(models.TextChoices):
        """Why value moved; a resolution carries its hold's code."""

        ISSUE = "issue", _("Issue")
        RELOAD = "reload", _("Reload")
        REDEMPTION = "redemption", _("Redemption")
        REFUND = "refund", _("Refund")
        BREAKAGE = "breakage", _("Breakage")
        EARN = "earn", _("Earn")
        EARN_REVERSAL = "earn_reversal", _("Earn Reversal")
        BURN = "burn", _("Burn")
        POINTS_EXPIRY = "points_expiry", _("Points Expiry")
        VOUCHER = "voucher", _("Voucher")
        VOUCHER_REINSTATEMENT = "voucher_reinstatement", _("Voucher Reinstatement")
        ADJUSTMENT = "adjustment", _("Adjustment")

    # References that must be unique per merchant: a retried issue or reload finds its first run.
    IDEMPOTENT_CODES = (Code.ISSUE, Code.RELOAD)

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    code = models.CharField(max_length=32, choices=Code.choices, verbose_name=_("code"))
    debit_account = models.ForeignKey(
        LedgerAccount,
        on_delete=models.PROTECT,
        related_name="debit_transfers",
        verbose_name=_("debit account"),
    )
    credit_account = models.ForeignKey(
        LedgerAccount,
        on_delete=models.PROTECT,
        related_name="credit_transfers",
        verbose_name=_("credit account"),
    )
    amount = _amount_field(
        verbose_name=_("amount"),
        help_text=_("Posted amount; for a hold the amount held; for a void the amount released."),
    )
    unit = models.CharField(max_length=UNIT_MAX_LENGTH, verbose_name=_("unit"))
    pending = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolution",
        help_text=_("The hold this transfer posts or voids (at most one resolution per hold)."),
        verbose_name=_("pending"),
    )
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        help_text=_("The posted transfer this one (partly) reverses, e.g. for a refund."),
        verbose_name=_("reverses"),
    )
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    reference = models.CharField(
        max_length=REFERENCE_MAX_LENGTH, blank=True, db_index=True, verbose_name=_("reference")
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    actor = models.CharField(
        max_length=200,
        help_text=_("Who acted, in the config.actors format."),
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")),
                name="transfer_distinct_accounts",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["post_pending", "void_pending"], pending__isnull=False)
                | Q(kind__in=["posted", "pending"], pending__isnull=True),
                name="transfer_resolution_names_its_hold",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(kind="pending"),
                name="transfer_only_holds_expire",
            ),
            models.CheckConstraint(
                condition=Q(reverses__isnull=True) | Q(kind="posted"),
                name="transfer_reversal_is_posted",
            ),
            models.CheckConstraint(
                condition=Q(actor__regex=ACTOR_PATTERN), name="transfer_actor_format"
            ),
            models.UniqueConstraint(
                fields=["merchant", "code", "reference"],
                condition=Q(code__in=["issue", "reload"]) & ~Q(reference=""),
                name="transfer_idempotent_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.code} {self.amount} {self.unit} #{self.pk}"

    @property
    def state(self) -> str:
        """For a hold: `pending`, `posted` or `voided`; other transfers are final as written."""
        if self.kind != self.Kind.PENDING:
            return "posted" if self.kind != self.Kind.VOID_PENDING else "voided"
        try:
            resolution = self.resolution
        except Transfer.DoesNotExist:
            return "pending"
        return "posted" if resolution.kind == self.Kind.POST_PENDING else "voided"


class Entry(models.Model):
    """One change of one account counter; an account's counters are the sums of its entries."""

    class Layer(models.TextChoices):
        PENDING = "pending", _("Pending")
        POSTED = "posted", _("Posted")

    class Side(models.TextChoices):
        DEBIT = "debit", _("Debit")
        CREDIT = "credit", _("Credit")

    transfer = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, related_name="entries", verbose_name=_("transfer")
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account")
    )
    layer = models.CharField(max_length=8, choices=Layer.choices, verbose_name=_("layer"))
    side = models.CharField(max_length=8, choices=Side.choices, verbose_name=_("side"))
    amount = _amount_field(
        verbose_name=_("amount"), help_text=_("Signed change of the (layer, side) counter.")
    )

    class Meta:
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
        ]
        indexes = [models.Index(fields=["account", "layer", "side"])]

    def __str__(self) -> str:
        return f"{self.side} {self.layer} {self.amount} on {self.account_id}"

    @property
    def counter(self) -> str:
        return f"{self.side}s_{self.layer}"
