"""The portal's refusals, shown to the customer on the page (config.errors registry)."""

from config.errors import InvalidRequest, KassaError


class CodeIncorrect(InvalidRequest):
    code = "portal_code_incorrect"
    default_detail = "This code is not right, or it has expired."


class CodeLocked(KassaError):
    code = "portal_code_locked"
    status = 429
    default_detail = "Too many wrong codes."


class CodeSendLimited(KassaError):
    code = "portal_code_send_limited"
    status = 429
    default_detail = "Too many codes were asked for."


class AlreadyLinked(InvalidRequest):
    code = "portal_already_linked"
    default_detail = "This card is already in your account."
