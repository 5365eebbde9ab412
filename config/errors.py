"""Domain errors: refusals a caller can act on, each with a stable machine-readable code.

Services raise these; the API layer renders them (config.api.errors). `status` is the HTTP
status the refusal maps to, kept beside the code so the mapping lives in one place.
"""

from typing import Any

# Every error code the API can answer, with its one HTTP status. Filled as error classes are
# defined (and by `error_code_register` for codes raised by DRF itself); a code declared twice
# with two statuses is a programming error caught at import time.
ERROR_CODES: dict[str, int] = {}


def error_code_register(code: str, status: int) -> None:
    known = ERROR_CODES.setdefault(code, status)
    if known != status:
        raise TypeError(f"Error code {code!r} would answer {status}, but it is {known} already.")


class KassaError(Exception):
    code = "error"
    status = 400
    # A retryable refusal ("try again shortly") is never recorded as an idempotent request's
    # final answer: the client's retry with the same key runs again.
    retryable = False
    default_detail = "The request could not be processed."

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        error_code_register(cls.code, cls.status)

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        meta: dict[str, Any] | None = None,
        errors: list["KassaError"] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.code = code or self.code
        self.field = field
        self.meta = meta or {}
        self.errors = errors or []
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail, "field": self.field}
        if self.meta:
            body["meta"] = self.meta
        return body


class InvalidRequest(KassaError):
    code = "invalid"
    status = 400


class NotFound(KassaError):
    code = "not_found"
    status = 404
    default_detail = "Not found."


class Conflict(KassaError):
    code = "conflict"
    status = 409


class Unprocessable(KassaError):
    code = "unprocessable"
    status = 422


class PaymentRequired(KassaError):
    code = "payment_required"
    status = 402


error_code_register(KassaError.code, KassaError.status)
