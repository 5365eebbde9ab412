"""One error shape for every API response, whatever raised it.

    {"code": "insufficient_funds", "detail": "…", "field": "tenders[1].amount",
     "meta": {...}, "errors": [{"code": …, "detail": …, "field": …}, …]}

`code` is stable and machine-readable; `errors` lists every problem found (one per field,
identifier or tender) and the top level repeats the first of them.
"""

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from config.errors import KassaError

_DRF_CODES = {
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
    return {"code": code, "detail": detail, "field": field, "errors": errors or []}


def _kassa_response(exc: KassaError) -> Response:
    errors = [error.as_dict() for error in exc.errors] or [exc.as_dict()]
    body = exc.as_dict()
    body["errors"] = errors
    retry_after = exc.meta.get("retry_after_seconds")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(body, status=exc.status, headers=headers)


def _validation_response(exc: exceptions.ValidationError) -> Response:
    errors: list[dict[str, Any]] = [
        {"code": detail.code or "invalid", "detail": str(detail), "field": field}
        for field, detail in _walk(exc.detail)
    ] or [{"code": "invalid", "detail": "Invalid input.", "field": None}]
    first = errors[0]
    body = error_body(first["code"], first["detail"], first["field"], errors)
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, KassaError):
        set_rollback()
        return _kassa_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return _validation_response(exc)
    if not isinstance(exc, exceptions.APIException):
        return None
    set_rollback()
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    code = code or str(exc.default_code)
    body = error_body(code, str(exc.detail))
    body["errors"] = [{"code": code, "detail": str(exc.detail), "field": None}]
    headers: dict[str, str] = {}
    wait = getattr(exc, "wait", None)
    if wait is not None:
        body["meta"] = {"retry_after_seconds": int(wait)}
        headers["Retry-After"] = str(int(wait))
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    return Response(body, status=exc.status_code, headers=headers)
