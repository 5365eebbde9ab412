"""Consent given or withdrawn per purpose, and the audit record of each erasure."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.actors import ACTOR_PATTERN
from customers.models.customers import Customer
from customers.models.identifiers import Channel
from merchants.models import Merchant


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
