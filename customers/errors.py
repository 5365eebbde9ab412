"""The customers app's refusals, each with a stable code and its one status."""

from config.errors import Conflict, InvalidRequest, KassaError, NotFound, Unprocessable


class InvalidIdentifier(InvalidRequest):
    code = "invalid_identifier"
    default_detail = "This identifier is not valid."


class InvalidEmail(InvalidIdentifier):
    code = "invalid_email"
    default_detail = "This is not a valid email address."


class InvalidPhone(InvalidIdentifier):
    code = "invalid_phone"
    default_detail = "This is not a valid phone number."


class InvalidLoyaltyCard(InvalidIdentifier):
    code = "invalid_loyalty_card"
    default_detail = "This is not a valid loyalty card number."


class InvalidWebAccount(InvalidIdentifier):
    code = "invalid_web_account"
    default_detail = "This is not a valid web account id."


class InvalidPosCustomer(InvalidIdentifier):
    code = "invalid_pos_customer"
    default_detail = "This is not a valid till customer id."


class InvalidDevice(InvalidIdentifier):
    code = "invalid_device"
    default_detail = "This is not a valid device id."


class UnknownIdentifierKind(InvalidRequest):
    code = "unknown_identifier_kind"
    default_detail = "Unknown identifier kind."


class NoIdentifiers(InvalidRequest):
    code = "no_identifiers"
    default_detail = "Present at least one identifier."


class ScanNotSupported(InvalidRequest):
    code = "presentation_not_supported"
    default_detail = "Only a loyalty card can be presented as scanned."


class IdentifyContention(Conflict):
    code = "identify_contention"
    retryable = True
    default_detail = "These identifiers are being changed by another request; retry."


class MergeAcrossMerchants(InvalidRequest):
    code = "merge_across_merchants"
    default_detail = "Customers of different merchants cannot be merged."


class CustomersAlreadyMerged(Conflict):
    code = "customers_already_merged"
    default_detail = "These customers are already one customer."


class MergeCustomerErased(Conflict):
    code = "merge_customer_erased"
    default_detail = "An erased customer cannot be merged or unmerged."


class CustomerErased(KassaError):
    """The customer was erased: their data is gone and they can no longer be used."""

    code = "customer_erased"
    status = 410
    default_detail = "This customer has been erased."


class WalletHasValue(Conflict):
    code = "wallet_has_value"
    default_detail = (
        "The customer still has stored value. Decide what happens to it: "
        '"stored_value": "forfeit" (to breakage) or "keep".'
    )


class MergeAlreadyUndone(Conflict):
    code = "merge_already_undone"
    default_detail = "This merge has already been undone."


class SurvivorMergedAgain(Conflict):
    code = "survivor_merged_again"
    default_detail = "The surviving customer has since been merged into another; undo that first."


class MergedIdentifiersChanged(Conflict):
    code = "merged_identifiers_changed"
    default_detail = "Identifiers that this merge moved have since been removed or moved."


class MergedRowsChanged(Conflict):
    code = "merged_rows_changed"
    default_detail = "Records that this merge moved now belong to another customer."


class ConflictAlreadyResolved(Conflict):
    code = "identity_conflict_resolved"
    default_detail = "This identity conflict has already been resolved."


class CustomerLockContention(Conflict):
    code = "customer_lock_contention"
    retryable = True
    default_detail = "These customers are being merged right now; retry the request."


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    default_detail = "No such customer."


class StrongPresentationRequired(KassaError):
    code = "strong_presentation_required"
    status = 403
    default_detail = (
        "A typed identifier only finds the customer. Scan their loyalty card, or send them a "
        "one-time code, to use their wallet."
    )


class MergeNotFound(NotFound):
    code = "merge_not_found"
    default_detail = "No such merge."


class IdentifierNotVerified(Unprocessable):
    code = "identifier_not_verified"
    default_detail = "The customer has no verified identifier of this kind to send a code to."


class PresentationCodeInvalid(InvalidRequest):
    code = "presentation_code_invalid"
    default_detail = "This is not the code that was sent."


class PresentationCodeExpired(InvalidRequest):
    code = "presentation_code_expired"
    default_detail = "No code is waiting for this customer at this till; request a new one."


class PresentationCodeLocked(KassaError):
    code = "presentation_code_locked"
    status = 429
    default_detail = "Too many wrong codes; wait before trying again."


class PresentationCodesExhausted(KassaError):
    code = "presentation_codes_rate_limited"
    status = 429
    default_detail = "Too many codes were sent; wait before asking for another."
