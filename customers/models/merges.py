"""Identity conflicts the policy would not merge, and the audit record of each merge."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models.customers import Customer
from customers.models.identifiers import Channel
from merchants.models import Merchant


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
