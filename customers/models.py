import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.actors import ACTOR_PATTERN
from customers.normalisation import IdentifierKind
from merchants.models import Merchant


class Customer(models.Model):
    """One person as the merchant knows them across every channel.

    After a merge the absorbed customer stays as a tombstone whose `merged_into` points at the
    survivor; after erasure only the pseudonymous row remains, for the payments that cite it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="customers")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="absorbed"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or str(self.public_id)


class Strength(models.IntegerChoices):
    """How strongly a till's presentation proved who the customer is; each level includes the last.

    WEAK: a typed identifier; finds the customer, attaches the sale, earns points, minimal profile.
    LOYALTY: the customer's own loyalty card scanned; may also spend their loyalty points and
    read and record their consent.
    WALLET: a one-time code read back from a verified phone or email; the whole wallet.
    """

    WEAK = 0, "weak"
    LOYALTY = 1, "loyalty"
    WALLET = 2, "wallet"


class CustomerAccessGrant(models.Model):
    """A till may reach a customer only after identifying them; the grant expires.

    The grant itself is weak. A strong presentation adds a shorter-lived strength on top
    (`loyalty_strong_until`, `wallet_strong_until`), which lapses back to weak on its own.
    Merchant and staff keys reach every customer of their merchant and need no grant.
    """

    api_key = models.ForeignKey(
        "merchants.ApiKey", on_delete=models.CASCADE, related_name="customer_grants"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="access_grants")
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    loyalty_strong_until = models.DateTimeField(null=True, blank=True)
    wallet_strong_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "customer"], name="customer_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api_key} → {self.customer} until {self.expires_at:%Y-%m-%d %H:%M}"

    def strength_at(self, at: datetime) -> Strength | None:
        """The strength in force at `at`; None once the grant itself has expired."""
        if self.expires_at <= at:
            return None
        if self.wallet_strong_until is not None and self.wallet_strong_until > at:
            return Strength.WALLET
        if self.loyalty_strong_until is not None and self.loyalty_strong_until > at:
            return Strength.LOYALTY
        return Strength.WEAK


class Channel(models.TextChoices):
    """Where a customer was met: the source of an identifier, consent or identification."""

    WEB = "web"
    APP = "app"
    POS = "pos"
    BACK_OFFICE = "back_office"


class Identifier(models.Model):
    """One way to recognise a customer; `value` is always in its normalised form.

    Unique per merchant among live identifiers, so a value leads to at most one customer.
    Removal keeps the row (`removed_at`) for the audit trail and frees the value.
    """

    class Kind(models.TextChoices):
        EMAIL = IdentifierKind.EMAIL
        PHONE = IdentifierKind.PHONE
        LOYALTY_CARD = IdentifierKind.LOYALTY_CARD
        WEB_ACCOUNT = IdentifierKind.WEB_ACCOUNT
        POS_CUSTOMER = IdentifierKind.POS_CUSTOMER
        DEVICE = IdentifierKind.DEVICE

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="customer_identifiers"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="identifiers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=320)
    verified = models.BooleanField(
        default=False, help_text="A touchpoint proved the customer controls it."
    )
    source_channel = models.CharField(max_length=16, choices=Channel.choices)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "kind", "value"],
                condition=Q(removed_at__isnull=True),
                name="identifier_live_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=IdentifierKind.ALL), name="identifier_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class ConsentPurpose(models.TextChoices):
    MARKETING_EMAIL = "marketing_email"
    MARKETING_SMS = "marketing_sms"
    IN_STORE_NOTIFICATIONS = "in_store_notifications"
    PERSONALISATION = "personalisation"
    ANALYTICS = "analytics"


class ConsentEvent(models.Model):
    """One consent given or withdrawn; append-only, the latest per purpose is the current one.

    A database trigger (migration 0003) refuses DELETE and any UPDATE except re-pointing the
    customer, which merges and unmerges do.
    """

    Purpose = ConsentPurpose

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="consent_events")
    purpose = models.CharField(max_length=32, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    evidence = models.TextField(help_text="What the customer saw and did, e.g. the form version.")
    recorded_at = models.DateTimeField(default=timezone.now)
    api_key = models.ForeignKey(
        "merchants.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["customer", "purpose", "-recorded_at"], name="consent_latest_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_known"
            )
        ]

    def __str__(self) -> str:
        state = "granted" if self.granted else "withdrawn"
        return f"{self.purpose} {state} at {self.recorded_at:%Y-%m-%d %H:%M}"


class IdentityConflict(models.Model):
    """Identifiers presented together led to several customers the policy would not merge.

    Kept for back-office review; repeated identical presentations count `occurrences` on the
    one open conflict instead of piling up rows.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        MERGED = "merged"
        DISMISSED = "dismissed"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    customers = models.ManyToManyField(Customer, related_name="identity_conflicts")
    customer_key = models.CharField(
        max_length=400, editable=False, help_text="Sorted customer ids: one open conflict per set."
    )
    best_match = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="conflicts_as_best_match"
    )
    presented = models.JSONField(help_text="The identifiers the touchpoint presented.")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    api_key = models.ForeignKey(
        "merchants.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "customer_key"],
                condition=Q(status="open"),
                name="identity_conflict_open_unique",
            )
        ]

    def __str__(self) -> str:
        return f"conflict #{self.pk} ({self.status}) between customers {self.customer_key}"


class CustomerMerge(models.Model):
    """The audit record of one merge: who, why, and exactly which rows moved, to undo it.

    `moved` lists `{"model": label, "field": name, "pks": [...]}` for every reference that was
    re-pointed from `absorbed` to `survivor`; `grant_collisions` the till access grants the
    absorbed customer lost because the survivor already had one for the same key.
    """

    class Source(models.TextChoices):
        IDENTIFY = "identify", "automatic, on identification"
        STAFF_API = "staff_api", "staff API"
        ADMIN = "admin", "admin"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_kept")
    absorbed = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_lost")
    source = models.CharField(max_length=16, choices=Source.choices)
    reason = models.TextField()
    actor = models.CharField(max_length=200, help_text="Who merged: a key or a back-office user.")
    api_key = models.ForeignKey(
        "merchants.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    conflict = models.ForeignKey(
        IdentityConflict,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merges",
        help_text="The reviewed conflict this merge resolved.",
    )
    moved = models.JSONField(default=list)
    grant_collisions = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerged_by = models.CharField(max_length=200, blank=True)
    unmerge_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(survivor=models.F("absorbed")), name="merge_distinct_customers"
            )
        ]

    def __str__(self) -> str:
        return f"{self.absorbed} → {self.survivor} ({self.created_at:%Y-%m-%d %H:%M})"


class PresentationCode(models.Model):
    """A one-time code sent to a customer's verified phone or email for a till to read back.

    Only an HMAC of the code is stored (keyed with KASSA_CODE_HMAC_KEY, salted per row). The
    rows are also the rate-limit counters: sends are counted per customer and per key.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="presentation_codes"
    )
    api_key = models.ForeignKey("merchants.ApiKey", on_delete=models.CASCADE, related_name="+")
    identifier = models.ForeignKey(Identifier, on_delete=models.PROTECT, related_name="+")
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["customer", "api_key", "-created_at"], name="presentation_code_idx"
            ),
            models.Index(fields=["api_key", "-created_at"], name="presentation_code_key_idx"),
        ]

    def __str__(self) -> str:
        return f"code for {self.customer} via {self.identifier.kind} at {self.created_at:%H:%M}"


class CustomerErasure(models.Model):
    """The audit record of one erasure, itself free of personal data.

    `pending`: the database part is done (the customer answers 410 from then on) and the
    clean-up at third parties (Stripe) is still to finish; a periodic task retries it.
    `summary` holds per-app counts and the stored value forfeited, never a name or identifier.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        COMPLETED = "completed"

    class StoredValue(models.TextChoices):
        FORFEIT = "forfeit"
        KEEP = "keep"
        NONE = "none", "none held"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="erasure")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stored_value = models.CharField(max_length=8, choices=StoredValue.choices)
    reason = models.TextField()
    actor = models.CharField(max_length=200, help_text="Who erased, in the config.actors format.")
    summary = models.JSONField(default=dict)
    external_attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "requested_at"], name="erasure_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor__regex=ACTOR_PATTERN),
                name="erasure_actor_valid",
            )
        ]

    def __str__(self) -> str:
        return f"erasure of {self.customer.public_id} ({self.status})"
