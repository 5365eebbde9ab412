import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.actors import ACTOR_PATTERN
from customers.normalisation import IdentifierKind
from merchants.models import Merchant


class Customer(models.Model):
    """One person as the merchant knows them across every channel.

    After a merge the absorbed customer stays as a tombstone whose `merged_into` points at the
    survivor; after erasure only the pseudonymous row remains, for the payments that cite it.
    """

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="customers", verbose_name=_("merchant")
    )
    first_name = models.CharField(max_length=150, blank=True, verbose_name=_("first name"))
    last_name = models.CharField(max_length=150, blank=True, verbose_name=_("last name"))
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="absorbed",
        verbose_name=_("merged into"),
    )
    erased_at = models.DateTimeField(null=True, blank=True, verbose_name=_("erased at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or str(self.public_id)


class Strength(models.IntegerChoices):
    """How strongly a till's presentation proved who the customer is; each level includes the last.

    WEAK: a typed identifier; finds the customer, attaches the sale, earns points, minimal profile.
    LOYALTY: the customer's own loyalty card scanned; may also spend their loyalty points and
    read and record their consent.
    WALLET: a one-time code read back from a verified phone or email; the whole wallet.

    The labels are codes the API returns, never translated.
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
        "merchants.ApiKey",
        on_delete=models.CASCADE,
        related_name="customer_grants",
        verbose_name=_("api key"),
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="access_grants", verbose_name=_("customer")
    )
    granted_at = models.DateTimeField(verbose_name=_("granted at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    loyalty_strong_until = models.DateTimeField(
        null=True, blank=True, verbose_name=_("loyalty strong until")
    )
    wallet_strong_until = models.DateTimeField(
        null=True, blank=True, verbose_name=_("wallet strong until")
    )

    class Meta:
        verbose_name = _("customer access grant")
        verbose_name_plural = _("customer access grants")
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

    WEB = "web", _("Web")
    APP = "app", _("App")
    POS = "pos", _("Pos")
    BACK_OFFICE = "back_office", _("Back Office")


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
        Merchant,
        on_delete=models.PROTECT,
        related_name="customer_identifiers",
        verbose_name=_("merchant"),
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="identifiers", verbose_name=_("customer")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    value = models.CharField(max_length=320, verbose_name=_("value"))
    verified = models.BooleanField(
        default=False,
        help_text=_("A touchpoint proved the customer controls it."),
        verbose_name=_("verified"),
    )
    source_channel = models.CharField(
        max_length=16, choices=Channel.choices, verbose_name=_("source channel")
    )
    first_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("first seen at"))
    last_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("last seen at"))
    removed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("removed at"))

    class Meta:
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")
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
    MARKETING_EMAIL = "marketing_email", _("Marketing Email")
    MARKETING_SMS = "marketing_sms", _("Marketing Sms")
    IN_STORE_NOTIFICATIONS = "in_store_notifications", _("In Store Notifications")
    PERSONALISATION = "personalisation", _("Personalisation")
    ANALYTICS = "analytics", _("Analytics")


class ConsentEvent(models.Model):
    """One consent given or withdrawn; append-only, the latest per purpose is the current one.

    A database trigger (migration 0003) refuses DELETE and any UPDATE except re-pointing the
    customer, which merges and unmerges do.
    """

    Purpose = ConsentPurpose

    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="consent_events",
        verbose_name=_("customer"),
    )
    purpose = models.CharField(
        max_length=32, choices=ConsentPurpose.choices, verbose_name=_("purpose")
    )
    granted = models.BooleanField(verbose_name=_("granted"))
    channel = models.CharField(max_length=16, choices=Channel.choices, verbose_name=_("channel"))
    evidence = models.TextField(
        help_text=_("What the customer saw and did, e.g. the form version."),
        verbose_name=_("evidence"),
    )
    recorded_at = models.DateTimeField(default=timezone.now, verbose_name=_("recorded at"))
    api_key = models.ForeignKey(
        "merchants.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("api key"),
    )

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
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
        OPEN = "open", _("Open")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Dismissed")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    customers = models.ManyToManyField(
        Customer, related_name="identity_conflicts", verbose_name=_("customers")
    )
    customer_key = models.CharField(
        max_length=400,
        editable=False,
        help_text=_("Sorted customer ids: one open conflict per set."),
        verbose_name=_("customer key"),
    )
    best_match = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="conflicts_as_best_match",
        verbose_name=_("best match"),
    )
    presented = models.JSONField(
        help_text=_("The identifiers the touchpoint presented."), verbose_name=_("presented")
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, verbose_name=_("channel"))
    api_key = models.ForeignKey(
        "merchants.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("api key"),
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    occurrences = models.PositiveIntegerField(default=1, verbose_name=_("occurrences"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("last seen at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    resolved_by = models.CharField(max_length=200, blank=True, verbose_name=_("resolved by"))
    resolution_note = models.TextField(blank=True, verbose_name=_("resolution note"))

    class Meta:
        verbose_name = _("identity conflict")
        verbose_name_plural = _("identity conflicts")
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
        IDENTIFY = "identify", _("automatic, on identification")
        STAFF_API = "staff_api", _("staff API")
        ADMIN = "admin", _("admin")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    survivor = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="merges_kept", verbose_name=_("survivor")
    )
    absorbed = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="merges_lost", verbose_name=_("absorbed")
    )
    source = models.CharField(max_length=16, choices=Source.choices, verbose_name=_("source"))
    reason = models.TextField(verbose_name=_("reason"))
    actor = models.CharField(
        max_length=200,
        help_text=_("Who merged: a key or a back-office user."),
        verbose_name=_("actor"),
    )
    api_key = models.ForeignKey(
        "merchants.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("api key"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    conflict = models.ForeignKey(
        IdentityConflict,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merges",
        help_text=_("The reviewed conflict this merge resolved."),
        verbose_name=_("conflict"),
    )
    moved = models.JSONField(default=list, verbose_name=_("moved"))
    grant_collisions = models.JSONField(default=list, verbose_name=_("grant collisions"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    unmerged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("unmerged at"))
    unmerged_by = models.CharField(max_length=200, blank=True, verbose_name=_("unmerged by"))
    unmerge_reason = models.TextField(blank=True, verbose_name=_("unmerge reason"))

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
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
        Customer,
        on_delete=models.CASCADE,
        related_name="presentation_codes",
        verbose_name=_("customer"),
    )
    api_key = models.ForeignKey(
        "merchants.ApiKey", on_delete=models.CASCADE, related_name="+", verbose_name=_("api key")
    )
    identifier = models.ForeignKey(
        Identifier, on_delete=models.PROTECT, related_name="+", verbose_name=_("identifier")
    )
    salt = models.CharField(max_length=32, verbose_name=_("salt"))
    code_hash = models.CharField(max_length=64, verbose_name=_("code hash"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    class Meta:
        verbose_name = _("presentation code")
        verbose_name_plural = _("presentation codes")
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
        PENDING = "pending", _("Pending")
        COMPLETED = "completed", _("Completed")

    class StoredValue(models.TextChoices):
        FORFEIT = "forfeit", _("Forfeit")
        KEEP = "keep", _("Keep")
        NONE = "none", _("none held")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    customer = models.OneToOneField(
        Customer, on_delete=models.PROTECT, related_name="erasure", verbose_name=_("customer")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    stored_value = models.CharField(
        max_length=8, choices=StoredValue.choices, verbose_name=_("stored value")
    )
    reason = models.TextField(verbose_name=_("reason"))
    actor = models.CharField(
        max_length=200,
        help_text=_("Who erased, in the config.actors format."),
        verbose_name=_("actor"),
    )
    summary = models.JSONField(default=dict, verbose_name=_("summary"))
    external_attempts = models.PositiveIntegerField(default=0, verbose_name=_("external attempts"))
    last_error = models.CharField(max_length=64, blank=True, verbose_name=_("last error"))
    requested_at = models.DateTimeField(default=timezone.now, verbose_name=_("requested at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        verbose_name = _("customer erasure")
        verbose_name_plural = _("customer erasures")
        indexes = [models.Index(fields=["status", "requested_at"], name="erasure_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor__regex=ACTOR_PATTERN),
                name="erasure_actor_valid",
            )
        ]

    def __str__(self) -> str:
        return f"erasure of {self.customer.public_id} ({self.status})"
