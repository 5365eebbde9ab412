"""Domain errors: refusals a caller can act on, each with a stable machine-readable code.

Services raise these; the API layer renders them (config.api.errors). `status` is the HTTP
status the refusal maps to, kept beside the code so the mapping lives in one place.

Each app declares its errors in one module, `<app>/errors.py`; this one holds the families and
config's own errors (Stripe, the JSON parser, pagination, the API layer). A code is declared once,
as a class, with its one status: `KassaError(detail, code=...)` accepts only a registered code
and answers that code's status.
"""

from typing import Any

from config import limits

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
        if code is not None:
            if code not in ERROR_CODES:
                raise TypeError(
                    f"unregistered error code {code!r}: declare it as a class in its app's "
                    "errors module"
                )
            self.code = code
            self.status = ERROR_CODES[code]
        self.detail = detail or self.default_detail
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


# -- Stripe (config.stripe translates the SDK's exceptions into these) -------------------------


class CardDeclined(PaymentRequired):
    code = "card_declined"
    default_detail = "The card was declined."


class StripeUnavailable(KassaError):
    code = "card_processor_unavailable"
    status = 503
    retryable = True
    default_detail = "The card processor did not answer; nothing was charged. Retry later."


class StripeRefused(KassaError):
    code = "card_processor_rejected"
    status = 502
    default_detail = "The card processor refused the request."


# -- the JSON parser (config.api.parsers) -------------------------------------------------------


class JsonTooDeep(InvalidRequest):
    code = "json_too_deep"
    default_detail = f"JSON nests deeper than {limits.MAX_JSON_DEPTH} levels."


class InvalidCharacters(InvalidRequest):
    code = "invalid_characters"
    default_detail = "Text must not contain NUL characters or unpaired UTF-16 surrogates."


class RequestTooLarge(KassaError):
    code = "request_too_large"
    status = 413
    default_detail = f"The request body exceeds {limits.MAX_REQUEST_BODY_BYTES} bytes."


# -- pagination (config.api.pagination) ---------------------------------------------------------


class PageSizeTooLarge(InvalidRequest):
    code = "page_size_too_large"
    default_detail = f"page_size is at most {limits.MAX_PAGE_SIZE}."


class InvalidPageSize(InvalidRequest):
    code = "invalid_page_size"
    default_detail = f"page_size is a whole number from 1 to {limits.MAX_PAGE_SIZE}."


# -- the API layer (config.api.errors, config.api.middleware) -----------------------------------


class BadRequest(InvalidRequest):
    code = "bad_request"
    default_detail = "The request could not be read."


class Forbidden(KassaError):
    code = "permission_denied"
    status = 403
    default_detail = "You do not have permission to perform this action."


class ServerError(KassaError):
    code = "server_error"
    status = 500
    default_detail = "Internal error; nothing was committed."
