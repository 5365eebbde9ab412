"""The payments app's refusals, each with a stable code and its one status."""

from typing import Any

from config.errors import (
    Conflict,
    InvalidRequest,
    KassaError,
    NotFound,
    PaymentRequired,
    Unprocessable,
)


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
    """A payment that was held and then rolled back; `meta.payment` names it for a GET.

    Its code is the failed tender's (`card_declined`, `authentication_required`,
    `card_authentication_failed`,
    `card_processor_unavailable`, `card_processor_rejected`, all declared in config.errors) or
    `authorization_interrupted` when a tender's authorisation never concluded; each answers its
    one registered status.
    """

    code = "authorization_interrupted"
    status = 502
    default_detail = "Not every tender was authorised."

    def __init__(self, detail: str, *, code: str, **kwargs: Any) -> None:
        super().__init__(detail, code=code or self.code, **kwargs)


class CardAuthenticationRequired(PaymentRequired):
    code = "authentication_required"
    default_detail = "The card issuer asks the cardholder to authenticate this payment."


class CardAuthenticationFailed(PaymentRequired):
    """The cardholder failed (or abandoned into failure) 3-D Secure: the whole payment failed."""

    code = "card_authentication_failed"
    default_detail = "The cardholder did not pass the card issuer's authentication."


class AuthenticationPending(Conflict):
    """Confirmed before the cardholder finished 3-D Secure; confirming again later is fine."""

    code = "authentication_pending"
    retryable = True
    default_detail = "The cardholder has not finished authenticating the card yet."


class InstrumentNotFound(NotFound):
    code = "instrument_not_found"
    default_detail = "No such instrument in this customer's wallet."


class CustomerRequired(Unprocessable):
    code = "customer_required"
    default_detail = "This method needs an identified customer."


class InvalidSignature(InvalidRequest):
    code = "invalid_signature"
    default_detail = "The Stripe-Signature header does not match the payload."


class PaymentRejected(Unprocessable):
    """Every problem found with the requested tenders; the first one leads the response.

    The response answers with the first problem's code and that code's one status (402 for
    insufficient funds, 404 for an unknown instrument, 422 for a tender not needed, …);
    `errors` lists every problem.
    """

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        errors: list[KassaError] = kwargs.get("errors") or []
        if errors and detail is None:
            first = errors[0]
            kwargs.setdefault("code", first.code)
            kwargs.setdefault("field", first.field)
            kwargs.setdefault("meta", first.meta)
            detail = first.detail
        super().__init__(detail, **kwargs)


class NoTenders(Unprocessable):
    code = "no_tenders"
    default_detail = "Give at least one tender."


class MethodNotAllowedOnChannel(Unprocessable):
    code = "method_not_allowed_on_channel"
    default_detail = "This method is for tills only."


class AmbiguousRemainder(Unprocessable):
    code = "ambiguous_remainder"
    default_detail = "One open-amount tender at most."


class TenderNotNeeded(Unprocessable):
    code = "tender_not_needed"
    default_detail = "Nothing is left for this tender to pay."


class TenderSumMismatch(Unprocessable):
    code = "tender_sum_mismatch"
    default_detail = "The tenders do not add up to the payment's amount."


class InvalidEvent(InvalidRequest):
    code = "invalid_event"
    default_detail = "The event has no id."


class UnknownTenderMethod(Unprocessable):
    code = "unknown_tender_method"
    default_detail = "No tender method of this name is registered."


class GiftCardLineRefused(Unprocessable):
    code = "gift_card_line_refused"
    default_detail = "This basket's gift card line cannot be fulfilled."


class StripeListingTooLarge(Unprocessable):
    code = "stripe_listing_too_large"
    default_detail = "Stripe lists more balance transactions for this window than one match reads."
