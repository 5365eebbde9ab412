from datetime import timedelta

from django.utils import timezone

from merchants.models import ApiKey
from merchants.services import api_key_hash

_LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The live key matching `raw_key`; marks it used at most once a minute, not on every call."""
    api_key = (
        ApiKey.objects.select_related("terminal__store", "merchant")
        .filter(secret_hash=api_key_hash(raw_key), revoked_at__isnull=True)
        .first()
    )
    if api_key is None:
        return None
    if api_key.terminal is not None and not api_key.terminal.is_active:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
