import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Merchant(models.Model):
    """A retailer: the tenant every store, customer, instrument and payment belongs to."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="stores", verbose_name=_("merchant")
    )
    code = models.CharField(
        max_length=40, help_text=_("The merchant's own store number."), verbose_name=_("code")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    timezone = models.CharField(
        max_length=64,
        default="Europe/Amsterdam",
        help_text=_("Defines the store's business day."),
        verbose_name=_("timezone"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="store_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Terminal(models.Model):
    """A till in a store."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="terminals", verbose_name=_("store")
    )
    code = models.CharField(
        max_length=40, help_text=_("Till number within the store."), verbose_name=_("code")
    )
    name = models.CharField(max_length=200, blank=True, verbose_name=_("name"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="terminal_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.store.code}/{self.code}"


class ApiKey(models.Model):
    """A bearer key; only its SHA-256 is stored, the key itself is shown once at issue.

    Scope decides what it reaches: a `merchant` key (the web shop back end) its merchant's
    objects, a `terminal` key (a till) its own store's, a `staff` key back-office operations.
    """

    class Scope(models.TextChoices):
        MERCHANT = "merchant", _("Merchant")
        TERMINAL = "terminal", _("Terminal")
        STAFF = "staff", _("Staff")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="api_keys", verbose_name=_("merchant")
    )
    terminal = models.ForeignKey(
        Terminal,
        on_delete=models.PROTECT,
        related_name="api_keys",
        null=True,
        blank=True,
        verbose_name=_("terminal"),
    )
    scope = models.CharField(max_length=16, choices=Scope.choices, verbose_name=_("scope"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    prefix = models.CharField(
        max_length=16,
        help_text=_("First characters, to recognise a key."),
        verbose_name=_("prefix"),
    )
    secret_hash = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("secret hash")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))

    is_authenticated = True  # lets DRF treat the key as the request's principal

    class Meta:
        verbose_name = _("api key")
        verbose_name_plural = _("api keys")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="terminal", terminal__isnull=False)
                | (~Q(scope="terminal") & Q(terminal__isnull=True)),
                name="apikey_terminal_iff_terminal_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def store_id(self) -> int | None:
        return self.terminal.store_id if self.terminal is not None else None


class IdempotencyRecord(models.Model):
    """The first response to a money-moving request, replayed for retries with the same key.

    Keys are scoped per API key. A row is claimed (`in_progress`) before the request runs, which
    is what makes a concurrent duplicate wait or get 409 instead of running twice.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In Progress")
        COMPLETED = "completed", _("Completed")

    api_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="idempotency", verbose_name=_("api key")
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    request_fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.IN_PROGRESS, verbose_name=_("status")
    )
    response_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("response status")
    )
    response_body = models.JSONField(
        null=True, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("response body")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
