"""How a customer is recognised: identifiers by channel, and one-time presentation codes."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models.customers import Customer
from customers.normalisation import IdentifierKind
from merchants.models import Merchant


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
