"""Request ids and JSON logs: one id follows a request through its log lines and its tasks.

The id comes from the `X-Request-ID` header (a load balancer or the client sets it) or is made
here, is echoed on the response, and travels into Celery tasks as a message header, so a
worker's log lines for the work a request queued carry the same id.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "kassa_request_id"
SENT_AT_HEADER = "kassa_sent_at"
# An id from outside is logged as it is: keep it short and free of anything a log parser chokes on.
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kassa_request_id", default=None
)


def incoming_request_id(value: str | None) -> str:
    """The caller's id when it is a plain token, else a fresh one."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Binds the request id for the request's log lines and tasks, and returns it in a header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
        # Not reset on the way out: Django logs the response (django.request) after the
        # middleware returns; the next request on this thread binds its own id.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts the bound request id (or None) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers parse without a grok pattern."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def add_task_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """`before_task_publish`: a task carries the id of the request that queued it, and when it
    was sent (the heartbeat task measures queue lag with it)."""
    if headers is None:
        return
    headers.setdefault(SENT_AT_HEADER, time.time())
    request_id = request_id_var.get()
    if request_id:
        headers.setdefault(TASK_HEADER, request_id)


def bind_task_request_id(task: Any = None, **_: Any) -> None:
    """`task_prerun`: the worker logs the task under the id of the request that queued it.

    An eager task (no broker) has no header and runs inside the request: it keeps its id.
    """
    context = getattr(task, "request", None)
    request_id = getattr(context, TASK_HEADER, None)
    if context is not None and isinstance(request_id, str):
        context.kassa_request_id_token = request_id_var.set(request_id)


def unbind_task_request_id(task: Any = None, **_: Any) -> None:
    """`task_postrun`: the next task on this worker starts without the id."""
    token = getattr(getattr(task, "request", None), "kassa_request_id_token", None)
    if token is not None:
        request_id_var.reset(token)
