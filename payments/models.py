import uuid

from django.db import models
from django.db.models import F, Q

from config.actors import ACTOR_PATTERN
from config.fields import MoneyField
from customers.models import Customer
from merchants.models import ApiKey, Merchant, Store, Terminal

MONEY = {"max_digits": 14, "decimal_places": 2, "default_currency": None}


class PaymentChannel(models.TextChoices):
    WEB = "web"
    POS = "pos"


class PaymentStatus(models.TextChoices):
    AUTHORIZING = "authorizing"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURING = "capturing"
    CAPTURED = "captured"
    VOIDING = "voiding"
    VOIDED = "voided"
    FAILED = "failed"


class TenderStatus(models.TextChoices):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    FAILED = "failed"


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

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payments")
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="payments")
    idempotency_key = models.CharField(max_length=255)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AUTHORIZING)
    amount = MoneyField(**MONEY)
    captured_amount = MoneyField(**MONEY)
    refunded_amount = MoneyField(**MONEY)
    capture_requested = models.BooleanField(default=False)
    points_earned = models.PositiveIntegerField(default=0)
    loyalty_earn_transfer = models.ForeignKey(
        "wallet.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    external_reference = models.CharField(max_length=200, blank=True, db_index=True)
    basket = models.JSONField(default=list, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    occurred_at = models.DateTimeField(
        null=True, blank=True, help_text="When a till made the sale offline (its own clock)."
    )
    offline = models.BooleanField(default=False, help_text="Made offline, replayed later.")
    offline_late = models.BooleanField(
        default=False, help_text="Replayed after the offline policy's maximum age: flagged."
    )
    updated_at = models.DateTimeField(auto_now=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
        VOUCHER = "voucher"
        GIFT_CARD = "gift_card"
        LOYALTY_POINTS = "loyalty_points"
        CARD = "card"
        CASH = "cash"
        EXTERNAL_CARD = "external_card"
        OFFLINE_GIFT_CARD = "offline_gift_card", "gift card taken offline (replayed)"

    Status = TenderStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="tenders")
    sequence = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=24, choices=Method.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    amount = MoneyField(**MONEY)
    captured_amount = MoneyField(**MONEY)
    refunded_amount = MoneyField(**MONEY)
    points = models.PositiveIntegerField(null=True, blank=True)
    gift_card = models.ForeignKey(
        "wallet.GiftCard", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voucher = models.ForeignKey(
        "wallet.Voucher", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voucher_redemption = models.ForeignKey(
        "wallet.VoucherRedemption",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    loyalty_account = models.ForeignKey(
        "wallet.LoyaltyAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bank_card = models.ForeignKey(
        "wallet.BankCard", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    wallet_transfer = models.ForeignKey(
        "wallet.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The hold on the instrument (or, for a sale captured at once, the redemption).",
    )
    stripe_payment_method_id = models.CharField(max_length=64, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    stripe_charge_id = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="The captured charge: what Stripe's balance transactions name as their source.",
    )
    stripe_client_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text="Handed to the web shop while the card waits for 3-D Secure (Stripe.js).",
    )
    external_reference = models.CharField(max_length=100, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_detail = models.TextField(blank=True)
    disputed = models.BooleanField(default=False)

    class Meta:
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
        REVERSE = "reverse"
        PRO_RATA = "pro_rata"
        EXPLICIT = "explicit"

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    amount = MoneyField(**MONEY)
    policy = models.CharField(max_length=16, choices=Policy.choices, default=Policy.REVERSE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=500, blank=True)
    points_reversed = models.PositiveIntegerField(default=0)
    failure_code = models.CharField(max_length=64, blank=True)
    external = models.BooleanField(
        default=False, help_text="Made at Stripe (its dashboard), recorded from the webhook."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="allocations")
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="refund_allocations")
    amount = MoneyField(**MONEY)
    points = models.PositiveIntegerField(null=True, blank=True)
    transfer = models.ForeignKey(
        "wallet.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stripe_refund_id = models.CharField(max_length=64, blank=True)

    class Meta:
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

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    tender = models.ForeignKey(
        Tender, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    type = models.CharField(max_length=64)
    actor = models.CharField(max_length=200, help_text="Who acted, in config.actors' format.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
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
