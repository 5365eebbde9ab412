from typing import Any

from config.errors import Conflict, InvalidRequest, KassaError, NotFound, Unprocessable


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    default_detail = "No such payment."


class PaymentStateConflict(Conflict):
    code = "invalid_payment_state"
    default_detail = "The payment is not in a state that allows this operation."


class AuthorizationExpired(PaymentStateConflict):
    code = "authorization_expired"
    default_detail = "The authorisation timed out; the payment was voided and nothing captured."


class CaptureExceedsAuthorized(Unprocessable):
    code = "capture_exceeds_authorized"
    default_detail = "The capture amount is larger than the authorised amount."


class RefundExceedsRefundable(Unprocessable):
    code = "refund_exceeds_refundable"
    default_detail = "The refund is larger than what can still be refunded."


class InvalidAllocation(InvalidRequest):
    code = "invalid_refund_allocation"
    default_detail = "The refund allocations do not match the payment's tenders."


class ChannelNotAllowed(InvalidRequest):
    code = "channel_not_allowed_for_key"
    default_detail = "Tills take `pos` payments; web shop keys take `web` payments."


class PaymentFailed(KassaError):
    """A payment that was held and then rolled back; `meta.payment` names it for a GET."""

    _STATUS = {
        "card_declined": 402,
        "authentication_required": 402,
        "card_processor_unavailable": 503,
    }

    def __init__(self, detail: str, *, code: str, **kwargs: Any) -> None:
        super().__init__(detail, code=code, **kwargs)
        self.status = self._STATUS.get(code, 502)
