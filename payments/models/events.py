"""What happened: the payment's own event log and the Stripe webhook events as received."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.actors import ACTOR_PATTERN
from payments.models.payments import Payment
from payments.models.tenders import Tender


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
