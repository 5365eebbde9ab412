"""The tills app's refusals, each with a stable code and its one status."""

from config.errors import Conflict, InvalidRequest, NotFound, Unprocessable


class TillSessionNotFound(NotFound):
    code = "till_session_not_found"
    default_detail = "No such till session on this terminal."


class TillSessionAlreadyOpen(Conflict):
    code = "till_session_already_open"
    default_detail = "This terminal already has an open session; close it first."


class TillSessionClosed(Conflict):
    code = "till_session_closed"
    default_detail = "The session is closed already."


class VarianceNeedsStaff(Conflict):
    code = "variance_needs_staff"
    default_detail = "The variance is above the limit: a staff key must accept it."


class CashOutExceedsDrawer(InvalidRequest):
    code = "cash_out_exceeds_drawer"
    default_detail = "The drawer does not hold that much cash."


class CurrencyMismatch(InvalidRequest):
    code = "till_currency_mismatch"
    default_detail = "The amount is not in the session's currency."


class OfflineValueRefused(Unprocessable):
    code = "offline_value_refused"
    default_detail = "Stored value taken offline needs this till's offline allowance."


class OfflineFloatShort(Conflict):
    code = "offline_float_short"
    default_detail = "The merchant's offline float cannot cover this allowance."
