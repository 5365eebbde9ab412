"""The wallet's refusals, each with a stable code (rendered by config.api.errors)."""

from decimal import Decimal

from config.errors import (
    Conflict,
    InvalidRequest,
    KassaError,
    NotFound,
    PaymentRequired,
    Unprocessable,
)
from config.limits import MAX_POINTS
from config.money import quantum
from wallet.units import is_points_unit


def amount_meta(amount: Decimal, unit: str) -> dict[str, str]:
    """`{"amount": "3.00", "currency": "EUR"}`, or `{"points": "120", "unit": "PTS_EUR"}`."""
    if is_points_unit(unit):
        return {"points": str(int(amount)), "unit": unit}
    return {"amount": str(amount.quantize(quantum(unit))), "currency": unit}


class AmountNotPositive(InvalidRequest):
    code = "amount_not_positive"
    default_detail = "Amount must be greater than zero."


class AmountTooPrecise(InvalidRequest):
    code = "amount_too_precise"
    default_detail = "The amount has more decimals than its currency allows."


class CurrencyMismatch(InvalidRequest):
    """Bad input (400), as the payments serializers answer a tender in another currency."""

    code = "currency_mismatch"
    default_detail = "The amount is not in the instrument's currency."


class InsufficientFunds(PaymentRequired):
    code = "insufficient_funds"
    default_detail = "The instrument's available balance does not cover the amount."


class InstrumentExpired(Unprocessable):
    code = "instrument_expired"
    default_detail = "The instrument has expired."


class InstrumentBlocked(Unprocessable):
    code = "instrument_blocked"
    default_detail = "The instrument is blocked."


class InstrumentInactive(Unprocessable):
    code = "instrument_inactive"
    default_detail = "The instrument has not been activated."


class InvalidStatusChange(Conflict):
    code = "invalid_status_change"
    default_detail = "The instrument cannot make this status change."


class HoldNotPending(Conflict):
    code = "hold_not_pending"
    default_detail = "The hold has already been posted or voided."


class HoldExpired(Conflict):
    code = "hold_expired"
    default_detail = "The hold timed out and can no longer be posted."


class AmountExceedsHold(Unprocessable):
    code = "amount_exceeds_hold"
    default_detail = "The amount is more than the hold."


class AmountExceedsReversible(Unprocessable):
    code = "amount_exceeds_reversible"
    default_detail = "The amount is more than what is left to reverse."


class NotReversible(Unprocessable):
    code = "not_reversible"
    default_detail = "Only posted transfers can be reversed."


class PointsTooLarge(InvalidRequest):
    code = "points_too_large"
    default_detail = f"At most {MAX_POINTS} points at once."


class WrongInstrument(InvalidRequest):
    code = "wrong_instrument"
    default_detail = "The transfer does not belong to this instrument."


class ReasonRequired(InvalidRequest):
    code = "reason_required"
    default_detail = "A reason is required."


class CodeNotRecognised(NotFound):
    """The one answer to a wrong code, a wrong PIN, or a code of another merchant."""

    code = "code_not_recognised"
    default_detail = "No instrument matches this code and PIN."


class CodeAttemptsLocked(KassaError):
    code = "code_attempts_locked"
    status = 429
    default_detail = "Too many wrong codes or PINs; try again later."


class GiftCardAlreadyClaimed(Conflict):
    code = "gift_card_already_claimed"
    default_detail = "The gift card is already in another customer's wallet."


class InvalidPin(InvalidRequest):
    code = "invalid_pin"
    default_detail = "A PIN is 4 to 8 digits."


class VoucherExpired(Unprocessable):
    code = "expired"
    default_detail = "The voucher has expired."


class VoucherNotYetValid(Unprocessable):
    code = "not_yet_valid"
    default_detail = "The voucher is not valid yet."


class VoucherDisabled(Unprocessable):
    code = "voucher_disabled"
    default_detail = "The voucher has been disabled."


class MinimumBasketNotMet(Unprocessable):
    code = "minimum_basket_not_met"
    default_detail = "The basket is below the voucher's minimum."


class ChannelNotAllowed(Unprocessable):
    code = "channel_not_allowed"
    default_detail = "The voucher cannot be used in this channel."


class UsageLimitReached(Unprocessable):
    code = "usage_limit_reached"
    default_detail = "The voucher has been used as often as it may be."


class VoucherNotForCustomer(Unprocessable):
    code = "voucher_not_for_customer"
    default_detail = "The voucher belongs to another customer."


class VoucherAmountTooHigh(Unprocessable):
    code = "amount_exceeds_voucher"
    default_detail = "The amount is more than the voucher grants."


class RedemptionNotReserved(Conflict):
    code = "redemption_not_reserved"
    default_detail = "The voucher use is no longer reserved."


class RedemptionNotConsumed(Conflict):
    code = "redemption_not_consumed"
    default_detail = "Only a consumed voucher use can be reinstated."


class LoyaltyAccountClosed(Unprocessable):
    code = "loyalty_account_closed"
    default_detail = "The loyalty account is closed."


class InvalidPaymentMethod(InvalidRequest):
    code = "invalid_payment_method"
    default_detail = "Stripe does not accept this PaymentMethod."


class BankCardAlreadySaved(Conflict):
    code = "bank_card_already_saved"
    default_detail = "This card is already saved."


class BankCardRemoved(Conflict):
    code = "bank_card_removed"
    default_detail = "This card has been removed."


class UnsupportedCurrency(InvalidRequest):
    code = "unsupported_currency"
    default_detail = "This currency is not accepted here."


class InvalidAmount(InvalidRequest):
    code = "invalid_amount"
    default_detail = "Amount must be a decimal number."


class CrossMerchantTransfer(InvalidRequest):
    code = "cross_merchant_transfer"
    default_detail = "Accounts of two merchants."


class SameAccount(InvalidRequest):
    code = "same_account"
    default_detail = "A transfer needs two accounts."


class InvalidActor(InvalidRequest):
    code = "invalid_actor"
    default_detail = "Say who acts, as api_key:, user:, system: or customer:."


class NotAHold(InvalidRequest):
    code = "not_a_hold"
    default_detail = "This transfer is not a hold."


class SystemAccount(InvalidRequest):
    code = "system_account"
    default_detail = "Only instrument accounts are adjusted."


class VoucherValueInvalid(InvalidRequest):
    code = "voucher_value"
    default_detail = "Give either an amount or a percentage."


class InvalidPercent(InvalidRequest):
    code = "invalid_percent"
    default_detail = "A percentage is above 0, at most 100, with 2 decimals."


class InvalidWindow(InvalidRequest):
    code = "invalid_window"
    default_detail = "The validity window ends before it starts."


class InvalidChannel(InvalidRequest):
    code = "invalid_channel"
    default_detail = "Unknown channel."


class InvalidLimit(InvalidRequest):
    code = "invalid_limit"
    default_detail = "A use limit is at least 1."


class InvalidPoints(InvalidRequest):
    code = "invalid_points"
    default_detail = "Points are whole numbers."


class InvalidRate(InvalidRequest):
    code = "invalid_rate"
    default_detail = "Rates must be positive."


class ExpiryInPast(InvalidRequest):
    code = "expiry_in_past"
    default_detail = "Expiry must be in the future."


class GiftCardNotFound(NotFound):
    code = "gift_card_not_found"
    default_detail = "No such gift card."


class LoyaltyAccountNotFound(NotFound):
    code = "loyalty_account_not_found"
    default_detail = "No such loyalty account."


class BankCardNotFound(NotFound):
    code = "bank_card_not_found"
    default_detail = "No such bank card."
