import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class Merchant(models.Model):
    """A retailer: the tenant every store, customer, instrument and payment belongs to."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="stores")
    code = models.CharField(max_length=40, help_text="The merchant's own store number.")
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, default="Europe/Amsterdam", help_text="Defines the store's business day."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="store_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Terminal(models.Model):
    """A till in a store."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="terminals")
    code = models.CharField(max_length=40, help_text="Till number within the store.")
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
        MERCHANT = "merchant"
        TERMINAL = "terminal"
        STAFF = "staff"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="api_keys")
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, related_name="api_keys", null=True, blank=True
    )
    scope = models.CharField(max_length=16, choices=Scope.choices)
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise a key.")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    is_authenticated = True  # lets DRF treat the key as the request's principal

    class Meta:
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
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="idempotency")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
