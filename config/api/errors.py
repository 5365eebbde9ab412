"""One error shape for every API response, whatever raised it.

    {"code": "insufficient_funds", "detail": "…", "field": "tenders[1].amount",
     "meta": {...}, "errors": [{"code": …, "detail": …, "field": …}, …]}

`code` is stable and machine-readable; `errors` lists every problem found (one per field,
identifier or tender) and the top level repeats the first of them.
"""

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, UnreadablePostError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from config import limits
from config.errors import (
    BadRequest,
    Forbidden,
    KassaError,
    NotFound,
    RequestTooLarge,
    error_code_register,
)


class ErrorCode(str):
    """A validation error code that carries `meta` (say, the maximum) to the error body.

    DRF rebuilds every `ErrorDetail` on its way up but keeps the code object it was given.
    """

    meta: dict[str, Any]

    def __new__(cls, code: str, **meta: Any) -> "ErrorCode":
        instance = super().__new__(cls, code)
        instance.meta = meta
        return instance


def django_error(exc: BaseException) -> KassaError | None:
    """The API's answer to an exception Django knows (bad request, 403, 404), if `exc` is one."""
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return Forbidden()
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(meta={"maximum_bytes": limits.MAX_REQUEST_BODY_BYTES})
    if isinstance(exc, (SuspiciousOperation, UnreadablePostError)):
        return BadRequest()
    return None


_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_json",
    exceptions.Throttled: "rate_limited",
}
for _exception, _code in _DRF_CODES.items():
    error_code_register(_code, _exception.status_code)


def _walk(errors: Any, path: str = "") -> Iterator[tuple[str | None, exceptions.ErrorDetail]]:
    """Flatten DRF's nested error dicts/lists into (dotted field path, detail) pairs."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key in ("non_field_errors", "__all__"):
                yield from _walk(value, path)
            elif isinstance(key, int):
                yield from _walk(value, f"{path}[{key}]")
            else:
                yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(errors, list):
        if all(isinstance(item, (str, exceptions.ErrorDetail)) for item in errors):
            for item in errors:
                yield path or None, exceptions.ErrorDetail(str(item), getattr(item, "code", None))
        else:
            for index, item in enumerate(errors):
                if item:
                    yield from _walk(item, f"{path}[{index}]")
    else:
        yield path or None, exceptions.ErrorDetail(str(errors), getattr(errors, "code", None))


def error_body(
    code: str, detail: str, field: str | None = None, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error = {"code": code, "detail": detail, "field": field}
    return {**error, "errors": errors or [error]}


def kassa_error_body(exc: KassaError) -> dict[str, Any]:
    body = exc.as_dict()
    body["errors"] = [error.as_dict() for error in exc.errors] or [exc.as_dict()]
    return body


def _kassa_response(exc: KassaError) -> Response:
    retry_after = exc.meta.get("retry_after_seconds")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(kassa_error_body(exc), status=exc.status, headers=headers)


def _error_dict(field: str | None, detail: exceptions.ErrorDetail) -> dict[str, Any]:
    code = str(detail.code) if detail.code else "invalid"
    error: dict[str, Any] = {"code": code, "detail": str(detail), "field": field}
    if meta := getattr(detail.code, "meta", None):
        error["meta"] = meta
    return error


def _validation_response(exc: exceptions.ValidationError) -> Response:
    errors = [_error_dict(field, detail) for field, detail in _walk(exc.detail)] or [
        {"code": "invalid", "detail": "Invalid input.", "field": None}
    ]
    body = {**errors[0], "errors": errors}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = django_error(exc) or exc
    if isinstance(exc, KassaError):
        set_rollback()
        return _kassa_response(exc)
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return _validation_response(exc)
    if not isinstance(exc, exceptions.APIException):
        return None
    set_rollback()
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    code = code or str(exc.default_code)
    body = error_body(code, str(exc.detail))
    headers: dict[str, str] = {}
    wait = getattr(exc, "wait", None)
    if wait is not None:
        body["meta"] = {"retry_after_seconds": int(wait)}
        headers["Retry-After"] = str(int(wait))
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    return Response(body, status=exc.status_code, headers=headers)
