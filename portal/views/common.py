"""Shared by the portal's views: the client address and refusals in the customer's words."""

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext as _

from config.errors import KassaError

# Refusals the customer can act on, by code; anything else is a generic message.
_MESSAGES = {
    "portal_code_incorrect": lambda meta: (
        _("This code is not right, or it has expired. Tries left: %(left)s.")
        % {"left": meta["attempts_left"]}
        if "attempts_left" in meta
        else _("This code is not right, or it has expired. Ask for a new one.")
    ),
    "portal_code_locked": lambda meta: (
        _(
            "Too many wrong codes. For your security, signing in with this address is locked for "
            "%(minutes)s minutes. Try again after that."
        )
        % {"minutes": meta.get("retry_after_minutes", 15)}
    ),
    "portal_code_send_limited": lambda meta: _(
        "Too many codes were asked for. Wait a few minutes and try again."
    ),
    "portal_already_linked": lambda meta: _("This card is already in your account."),
    "code_not_recognised": lambda meta: _("No gift card matches this code and PIN."),
    "code_attempts_locked": lambda meta: (
        _("Too many wrong codes or PINs. Try again in %(minutes)s minutes.")
        % {"minutes": max(1, round(meta.get("retry_after_seconds", 900) / 60))}
    ),
    "gift_card_already_claimed": lambda meta: _(
        "This gift card is already in another wallet, so it cannot be added to yours."
    ),
    "instrument_blocked": lambda meta: _("This gift card is blocked."),
    "instrument_expired": lambda meta: _("This gift card has expired."),
    "card_declined": lambda meta: _("Your bank declined this card."),
    "invalid_payment_method": lambda meta: _("This card could not be saved."),
    "bank_card_already_saved": lambda meta: _("This card is already saved."),
    "invalid_email": lambda meta: _("Enter a valid email address."),
    "invalid_phone": lambda meta: _("Enter a valid email address or mobile number."),
    "invalid_loyalty_card": lambda meta: _("This is not a valid loyalty card number."),
}


def refusal_message(error: KassaError) -> str:
    message = _MESSAGES.get(error.code)
    return message(error.meta) if message else _("This could not be done. Please try again.")


def form_refuse(form: forms.Form, error: KassaError, field: str | None = None) -> None:
    form.add_error(field, refusal_message(error))


def client_ip(request: HttpRequest) -> str | None:
    """The peer address (a proxy must set REMOTE_ADDR; X-Forwarded-For is the client's word)."""
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None
