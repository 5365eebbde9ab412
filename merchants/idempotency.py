"""`Idempotency-Key` for every POST that moves money: one key, one effect.

- same key, same request: the first response is replayed, status code included;
- same key, different request: 422 `idempotency_key_reused`;
- same key while the first request still runs: the duplicate waits a moment for the outcome,
  then gets 409 `request_in_progress`.
A request that crashes, or is refused with a retryable error ("Stripe is out of reach",
"being merged right now"), releases its claim so the client's retry runs again; the services behind
money-moving views are themselves keyed (a payment remembers the key that created it), so a
retry after a crash half-way resumes that payment instead of creating a second one.
An answer PostgreSQL cannot store as it is (a NUL in an echoed value) is stored with U+FFFD in
its place; should storing still fail, the claim is released rather than left `in_progress`.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.parsers import UNSAFE_CHARACTERS
from config.errors import KassaError
from merchants.authentication import request_api_key
from merchants.errors import IdempotencyKeyRequired, IdempotencyKeyReused, RequestInProgress
from merchants.models import ApiKey, IdempotencyRecord

HEADER = "Idempotency-Key"
DUPLICATE_WAIT_SECONDS = 5.0
CLAIM_STALE_AFTER = timedelta(minutes=2)

logger = logging.getLogger(__name__)


def idempotency_key_valid(key: str) -> bool:
    return bool(key) and len(key) <= 255 and not UNSAFE_CHARACTERS.search(key)


def request_fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _storable(body: Any) -> Any:
    """`body` with every NUL and lone surrogate replaced: jsonb refuses both."""
    if isinstance(body, str):
        return UNSAFE_CHARACTERS.sub("\ufffd", body)
    if isinstance(body, dict):
        return {_storable(key): _storable(value) for key, value in body.items()}
    if isinstance(body, (list, tuple)):
        return [_storable(item) for item in body]
    return body


def _complete(record: IdempotencyRecord, response: Response) -> None:
    """Record the answer for replay, or release the claim so a retry runs again."""
    # Outside a transaction the UPDATE is its own; inside one (tests), a savepoint keeps a
    # refused answer from breaking the surrounding transaction.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status=IdempotencyRecord.Status.COMPLETED,
                response_status=response.status_code,
                response_body=_storable(response.data),
                completed_at=timezone.now(),
            )
    except (DatabaseError, TypeError, ValueError):
        logger.exception("idempotency record %s not stored; claim released", record.pk)
        IdempotencyRecord.objects.filter(pk=record.pk).delete()


def _replay(record: IdempotencyRecord) -> Response:
    return Response(
        record.response_body,
        status=record.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


_CLAIM = (
    "INSERT INTO merchants_idempotencyrecord (api_key_id, key, request_fingerprint, status, "
    "created_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (api_key_id, key) DO NOTHING "
    "RETURNING id, created_at"
)


def _claim(*, api_key: ApiKey, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the claim row, or return the existing one (created=False). One statement and no
    savepoint: a duplicate is a conflict PostgreSQL skips, not an error to roll back."""
    status = IdempotencyRecord.Status.IN_PROGRESS
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [api_key.pk, key, fingerprint, status, timezone.now()])
        row = cursor.fetchone()
    if row is None:
        return IdempotencyRecord.objects.get(api_key=api_key, key=key), False
    record = IdempotencyRecord(
        pk=row[0],
        api_key=api_key,
        key=key,
        request_fingerprint=fingerprint,
        status=status,
        created_at=row[1],
    )
    return record, True


def _take_over_if_stale(record: IdempotencyRecord) -> bool:
    """A claim older than CLAIM_STALE_AFTER belongs to a request that died; take it over."""
    if timezone.now() - record.created_at < CLAIM_STALE_AFTER:
        return False
    return bool(
        IdempotencyRecord.objects.filter(
            pk=record.pk, status=IdempotencyRecord.Status.IN_PROGRESS, created_at=record.created_at
        ).update(created_at=timezone.now())
    )


def _existing_outcome(record: IdempotencyRecord, fingerprint: str) -> Response | None:
    """A replay, an error, or None when this request may run (it took over a stale claim)."""
    deadline = time.monotonic() + DUPLICATE_WAIT_SECONDS
    while True:
        if record.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused(field=HEADER)
        if record.status == IdempotencyRecord.Status.COMPLETED:
            return _replay(record)
        if _take_over_if_stale(record):
            return None
        if time.monotonic() >= deadline:
            raise RequestInProgress(field=HEADER)
        time.sleep(0.05)
        record.refresh_from_db()


Handler = Callable[..., Response]


def idempotent(handler: Handler) -> Handler:
    """Decorate a DRF view method so it runs at most once per (API key, Idempotency-Key)."""

    @wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not idempotency_key_valid(key):
            raise IdempotencyKeyRequired(field=HEADER)
        fingerprint = request_fingerprint(request)
        record, created = _claim(api_key=request_api_key(request), key=key, fingerprint=fingerprint)
        if not created and (replay := _existing_outcome(record, fingerprint)) is not None:
            return replay
        try:
            response = handler(view, request, *args, **kwargs)
        except KassaError as error:
            response = view.handle_exception(error)
            if error.retryable:
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
                return response
        except APIException as error:
            response = view.handle_exception(error)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        _complete(record, response)
        return response

    return wrapper
