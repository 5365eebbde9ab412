"""The merchants app's refusals, each with a stable code and its one status."""

from config.errors import Conflict, InvalidRequest, Unprocessable


class IdempotencyKeyRequired(InvalidRequest):
    code = "idempotency_key_required"
    default_detail = "Send an Idempotency-Key header (1 to 255 characters) with this request."


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used for a different request."


class RequestInProgress(Conflict):
    code = "request_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."
