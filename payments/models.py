import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from config.actors import ACTOR_PATTERN
from config.fields import MoneyField
from customers.models import Customer
from merchants.models import ApiKey, Merchant, Store, Terminal

MONEY = {"max_digits": 14, "decimal_places": 2, "default_currency": None}


class PaymentChannel(models.TextChoices):
    WEB = "web", _("Web")
    POS = "pos", _("Pos")


class PaymentStatus(models.TextChoices):
    AUTHORIZING = "authorizing", _("Authorizing")
    REQUIRES_ACTION = "requires_action", _("Requires Action")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURING = "capturing", _("Capturing")
    CAPTURED = "captured", _("Captured")
    VOIDING = "voiding", _("Voiding")
    VOIDED = "voided", _("Voided")
    FAILED = "failed", _("Failed")


class TenderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    REQUIRES_ACTION = "requires_action", _("Requires Action")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURED = "captured", _("Captured")
    VOIDED = "voided", _("Voided")
    FAILED = "failed", _("Failed")


class Payment(models.Model):
    """One checkout, paid by one or more tenders that succeed or fail together.

    `authorizing`, `capturing` and `voiding` are the intermediate states a crash can leave
    behind; the recovery task finishes or rolls back every payment found in one of them.
    `requires_action` waits for the cardholder to authenticate a card (3-D Secure) in the web
    shop, holds kept; it concludes on confirm or Stripe's webhook, or is voided after a time-out.
    """

    Channel = PaymentChannel

    Status = PaymentStatus

    INTERMEDIATE = (Status.AUTHORIZING, Status.CAPTURING, Status.VOIDING)

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="payments", verbose_name=_("merchant")
    )
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("store"),
    )
    terminal = models.ForeignKey(
        Terminal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("terminal"),
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, related_name="payments", verbose_name=_("api key")
    )
    idempotency_key = models.CharField(max_length=255, verbose_name=_("idempotency key"))
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("customer"),
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, verbose_name=_("channel"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.AUTHORIZING, verbose_name=_("status")
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    captured_amount = MoneyField(**MONEY, verbose_name=_("captured amount"))
    refunded_amount = MoneyField(**MONEY, verbose_name=_("refunded amount"))
    capture_requested = models.BooleanField(default=False, verbose_name=_("capture requested"))
    points_earned = models.PositiveIntegerField(default=0, verbose_name=_("points earned"))
    loyalty_earn_transfer = models.ForeignKey(
        "wallet.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("loyalty earn transfer"),
    )
    external_reference = models.CharField(
        max_length=200, blank=True, db_index=True, verbose_name=_("external reference")
    )
    basket = models.JSONField(default=list, blank=True, verbose_name=_("basket"))
    failure_code = models.CharField(max_length=64, blank=True, verbose_name=_("failure code"))
    failure_detail = models.TextField(blank=True, verbose_name=_("failure detail"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )
    occurred_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When a till made the sale offline (its own clock)."),
        verbose_name=_("occurred at"),
    )
    offline = models.BooleanField(
        default=False, help_text=_("Made offline, replayed later."), verbose_name=_("offline")
    )
    offline_late = models.BooleanField(
        default=False,
        help_text=_("Replayed after the offline policy's maximum age: flagged."),
        verbose_name=_("offline late"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    authorized_at = models.DateTimeField(null=True, blank=True, verbose_name=_("authorized at"))
    captured_at = models.DateTimeField(null=True, blank=True, verbose_name=_("captured at"))
    voided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("voided at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "idempotency_key"], name="payment_idempotency_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0) & Q(captured_amount__lte=F("amount")),
                name="payment_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("captured_amount")),
                name="payment_refunded_within_captured",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="payment_status_idx")]

    def __str__(self) -> str:
        return str(self.public_id)


class Tender(models.Model):
    """One method's share of a payment, with the reference of its hold or authorisation."""

    class Method(models.TextChoices):
        VOUCHER = "voucher", _("Voucher")
        GIFT_CARD = "gift_card", _("Gift Card")
        LOYALTY_POINTS = "loyalty_points", _("Loyalty Points")
        CARD = "card", _("Card")
        CASH = "cash", _("Cash")
        EXTERNAL_CARD = "external_card", _("External Card")
        OFFLINE_GIFT_CARD = "offline_gift_card", _("gift card taken offline (replayed)")

    Status = TenderStatus

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="tenders", verbose_name=_("payment")
    )
    sequence = models.PositiveSmallIntegerField(verbose_name=_("sequence"))
    method = models.CharField(max_length=24, choices=Method.choices, verbose_name=_("method"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    captured_amount = MoneyField(**MONEY, verbose_name=_("captured amount"))
    refunded_amount = MoneyField(**MONEY, verbose_name=_("refunded amount"))
    points = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("points"))
    gift_card = models.ForeignKey(
        "wallet.GiftCard",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gift card"),
    )
    voucher = models.ForeignKey(
        "wallet.Voucher",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voucher"),
    )
    voucher_redemption = models.ForeignKey(
        "wallet.VoucherRedemption",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voucher redemption"),
    )
    loyalty_account = models.ForeignKey(
        "wallet.LoyaltyAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("loyalty account"),
    )
    bank_card = models.ForeignKey(
        "wallet.BankCard",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("bank card"),
    )
    wallet_transfer = models.ForeignKey(
        "wallet.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "The hold on the instrument (or, for a sale captured at once, the redemption)."
        ),
        verbose_name=_("wallet transfer"),
    )
    stripe_payment_method_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("stripe payment method id")
    )
    stripe_payment_intent_id = models.CharField(
        max_length=64, blank=True, db_index=True, verbose_name=_("stripe payment intent id")
    )
    stripe_charge_id = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_(
            "The captured charge: what Stripe's balance transactions name as their source."
        ),
        verbose_name=_("stripe charge id"),
    )
    stripe_client_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Handed to the web shop while the card waits for 3-D Secure (Stripe.js)."),
        verbose_name=_("stripe client secret"),
    )
    external_reference = models.CharField(
        max_length=100, blank=True, verbose_name=_("external reference")
    )
    failure_code = models.CharField(max_length=64, blank=True, verbose_name=_("failure code"))
    failure_detail = models.TextField(blank=True, verbose_name=_("failure detail"))
    disputed = models.BooleanField(default=False, verbose_name=_("disputed"))

    class Meta:
        verbose_name = _("tender")
        verbose_name_plural = _("tenders")
        ordering = ["payment_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "sequence"], name="tender_sequence_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="tender_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0) & Q(captured_amount__lte=F("amount")),
                name="tender_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("captured_amount")),
                name="tender_refunded_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.method} {self.amount} {self.status}"


class Refund(models.Model):
    class Policy(models.TextChoices):
        REVERSE = "reverse", _("Reverse")
        PRO_RATA = "pro_rata", _("Pro Rata")
        EXPLICIT = "explicit", _("Explicit")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment")
    )
    api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("api key"),
    )
    idempotency_key = models.CharField(
        max_length=255, blank=True, verbose_name=_("idempotency key")
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    policy = models.CharField(
        max_length=16, choices=Policy.choices, default=Policy.REVERSE, verbose_name=_("policy")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    points_reversed = models.PositiveIntegerField(default=0, verbose_name=_("points reversed"))
    failure_code = models.CharField(max_length=64, blank=True, verbose_name=_("failure code"))
    external = models.BooleanField(
        default=False,
        help_text=_("Made at Stripe (its dashboard), recorded from the webhook."),
        verbose_name=_("external"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["api_key", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="refund_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.payment.public_id} ({self.status})"


class RefundAllocation(models.Model):
    """The part of a refund that one tender gives back (a voucher's part is reinstated)."""

    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("refund")
    )
    tender = models.ForeignKey(
        Tender,
        on_delete=models.PROTECT,
        related_name="refund_allocations",
        verbose_name=_("tender"),
    )
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    points = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("points"))
    transfer = models.ForeignKey(
        "wallet.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("transfer"),
    )
    stripe_refund_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("stripe refund id")
    )

    class Meta:
        verbose_name = _("refund allocation")
        verbose_name_plural = _("refund allocations")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.UniqueConstraint(fields=["refund", "tender"], name="allocation_tender_unique"),
            models.UniqueConstraint(
                fields=["stripe_refund_id"],
                condition=~Q(stripe_refund_id=""),
                name="allocation_stripe_refund_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} from tender #{self.tender.sequence}"


class PaymentEvent(models.Model):
    """Append-only history of every state change of a payment (a trigger refuses edits)."""

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="events", verbose_name=_("payment")
    )
    tender = models.ForeignKey(
        Tender,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("tender"),
    )
    type = models.CharField(max_length=64, verbose_name=_("type"))
    actor = models.CharField(
        max_length=200, help_text=_("Who acted, in config.actors' format."), verbose_name=_("actor")
    )
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor__regex=ACTOR_PATTERN), name="payment_event_actor_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} @ {self.created_at:%Y-%m-%d %H:%M:%S}"


class StripeEvent(models.Model):
    """A verified Stripe webhook event, stored once by its id: duplicates are acknowledged only.

    `processed_at` is set once the event was applied; `claimed_until` is the lease of the
    processor applying it now, so one that died mid-way is taken over when the lease ends.
    """

    event_id = models.CharField(max_length=255, unique=True, verbose_name=_("event id"))
    type = models.CharField(max_length=100, verbose_name=_("type"))
    payload = models.JSONField(verbose_name=_("payload"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    claimed_until = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed until"))

    class Meta:
        verbose_name = _("stripe event")
        verbose_name_plural = _("stripe events")
        indexes = [
            # The sweep's read: the few events not applied yet, oldest first.
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True),
                name="stripeevent_unprocessed_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
