"""Rate limit on guessing gift card / voucher codes and PINs, per API key and per client IP.

Any view that looks an instrument up by code wraps the lookup in `code_guessing_guard`: a key
or IP that is locked out gets 429 `code_attempts_locked` (with `retry_after_seconds` in meta)
before the code is even looked at, and every `CodeNotRecognised` inside the guard counts as a
failure. A wrong code and a wrong PIN are the same failure, so the answers never tell which.
A success does not reset the count (a guesser holding one valid card could otherwise reset it
at will); counts simply age out with their window.

Counters live in the database (`CodeAttemptWindow`), incremented by one upsert statement, so
every web worker shares them and concurrent guesses cannot under-count. Call the guard outside
`transaction.atomic`: a failure recorded inside a transaction that rolls back is forgotten.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Max
from django.utils import timezone
from rest_framework.request import Request

from wallet.errors import CodeAttemptsLocked, CodeNotRecognised
from wallet.models import CodeAttemptWindow

WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
FAILURES_PER_API_KEY = 10
FAILURES_PER_IP = 20

_RECORD_FAILURE = """
INSERT INTO wallet_codeattemptwindow (key, window_started_at, failures, locked_until)
VALUES (%(key)s, %(now)s, 1, NULL)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN wallet_codeattemptwindow.window_started_at <= %(cutoff)s
                    THEN 1 ELSE wallet_codeattemptwindow.failures + 1 END,
    window_started_at = CASE WHEN wallet_codeattemptwindow.window_started_at <= %(cutoff)s
                    THEN %(now)s ELSE wallet_codeattemptwindow.window_started_at END
RETURNING failures
"""


def _keys(api_key_id: int | None, client_ip: str | None) -> dict[str, int]:
    keys = {}
    if api_key_id is not None:
        keys[f"key:{api_key_id}"] = FAILURES_PER_API_KEY
    if client_ip:
        keys[f"ip:{client_ip}"] = FAILURES_PER_IP
    return keys


def code_attempts_check(*, api_key_id: int | None, client_ip: str | None) -> None:
    """Raise `CodeAttemptsLocked` while the key or the IP is locked out."""
    now = timezone.now()
    locked_until: datetime | None = CodeAttemptWindow.objects.filter(
        key__in=list(_keys(api_key_id, client_ip)), locked_until__gt=now
    ).aggregate(until=Max("locked_until"))["until"]
    if locked_until is not None:
        retry_after = math.ceil((locked_until - now).total_seconds())
        raise CodeAttemptsLocked(meta={"retry_after_seconds": retry_after})


def code_attempt_failed(*, api_key_id: int | None, client_ip: str | None) -> None:
    """Count one wrong code or PIN; lock the key or IP out once it reaches its limit."""
    now = timezone.now()
    for key, limit in _keys(api_key_id, client_ip).items():
        with connection.cursor() as cursor:
            cursor.execute(_RECORD_FAILURE, {"key": key, "now": now, "cutoff": now - WINDOW})
            (failures,) = cursor.fetchone()
        if failures >= limit:
            CodeAttemptWindow.objects.filter(key=key).update(
                locked_until=now + LOCKOUT, failures=0, window_started_at=now
            )


@contextmanager
def code_guessing_guard(*, api_key_id: int | None, client_ip: str | None) -> Iterator[None]:
    """Refuse locked-out callers, and count each `CodeNotRecognised` raised inside."""
    code_attempts_check(api_key_id=api_key_id, client_ip=client_ip)
    try:
        yield
    except CodeNotRecognised:
        code_attempt_failed(api_key_id=api_key_id, client_ip=client_ip)
        raise


def client_ip(request: Request) -> str | None:
    """The peer address. Behind a proxy, have it set REMOTE_ADDR (e.g. gunicorn's
    --forwarded-allow-ips): a client-supplied X-Forwarded-For would let a guesser pick its IP."""
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None
