"""The reconciliation app's refusals, each with a stable code and its one status."""

from config.errors import Conflict, InvalidRequest, NotFound


class StoreNotFound(NotFound):
    code = "store_not_found"
    default_detail = "No such store for this merchant."


class TillNotFound(NotFound):
    code = "till_not_found"
    default_detail = "No such till in this store (or, without a store, in any store)."


class SettlementAlreadyClosed(Conflict):
    code = "settlement_already_closed"
    default_detail = "The day is closed already."


class SettlementLocked(Conflict):
    code = "settlement_locked"
    default_detail = "The day is reconciled: its figures are locked."


class SettlementPaymentsPending(Conflict):
    code = "settlement_payments_pending"
    default_detail = "Payments or refunds of this day have not reached a final state yet."


class SettlementDayNotOver(Conflict):
    code = "settlement_day_not_over"
    default_detail = (
        "The day had not ended when it was last computed: compute it again after its end."
    )


class SettlementReasonRequired(InvalidRequest):
    code = "settlement_reason_required"
    default_detail = "The day has differences: accepting them needs a reason."


class InvalidDateRange(InvalidRequest):
    code = "invalid_date_range"
    default_detail = "`from` must not be after `to`."
