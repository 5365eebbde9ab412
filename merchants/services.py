import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from config.errors import InvalidRequest
from merchants.models import ApiKey, Merchant, Terminal

_SCOPE_TAG = {ApiKey.Scope.MERCHANT: "m", ApiKey.Scope.TERMINAL: "t", ApiKey.Scope.STAFF: "s"}


def api_key_hash(raw_key: str) -> str:
    """Keys carry 256 random bits, so a plain SHA-256 is a safe, indexable fingerprint."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_issue(
    *, merchant: Merchant, scope: str, name: str, terminal: Terminal | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never retrievable again."""
    if (scope == ApiKey.Scope.TERMINAL) != (terminal is not None):
        raise InvalidRequest("A terminal key needs a terminal; other keys must not have one.")
    if terminal is not None and terminal.store.merchant_id != merchant.pk:
        raise InvalidRequest("The terminal belongs to another merchant.")
    raw_key = f"kassa_{_SCOPE_TAG[ApiKey.Scope(scope)]}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        merchant=merchant,
        terminal=terminal,
        scope=scope,
        name=name,
        prefix=raw_key[:14],
        secret_hash=api_key_hash(raw_key),
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db()
    return api_key
