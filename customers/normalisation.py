"""Identifier normalisation: one spelling per identifier, so the same person always matches.

Every path in (API, admin search, demo data) goes through `identifier_normalise`, so a value is
stored and looked up in exactly one form:

- email: trimmed and lower-cased; the domain in its ASCII (IDNA, punycode) form.
- phone: E.164 (`+31612345678`) via `phonenumbers`; national numbers are read in
  `settings.KASSA_DEFAULT_PHONE_REGION`; only numbers valid for their region are accepted.
- loyalty_card: digits only (spaces and dashes dropped), 8 to 19 long, the last digit a Luhn
  (ISO/IEC 7812 mod-10) check digit. Luhn catches every single-digit typo and nearly every
  swap of adjacent digits, which is what happens when a card number is typed at a till.
- web_account, pos_customer, device: opaque ids from the merchant's own systems; all whitespace
  removed and lower-cased, at most 128 characters.

Failures raise a subclass of `InvalidIdentifier` with a code per kind (`invalid_email`,
`invalid_phone`, ...; customers.errors).
"""

import re
import unicodedata

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from customers.errors import (
    InvalidDevice,
    InvalidEmail,
    InvalidIdentifier,
    InvalidLoyaltyCard,
    InvalidPhone,
    InvalidPosCustomer,
    InvalidWebAccount,
    UnknownIdentifierKind,
)


class IdentifierKind:
    """The kinds of identifier a touchpoint may present (the model's choices reuse these)."""

    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_CARD = "loyalty_card"
    WEB_ACCOUNT = "web_account"
    POS_CUSTOMER = "pos_customer"
    DEVICE = "device"

    ALL = (EMAIL, PHONE, LOYALTY_CARD, WEB_ACCOUNT, POS_CUSTOMER, DEVICE)


LOYALTY_CARD_LENGTHS = range(8, 20)
OPAQUE_MAX_LENGTH = 128
_WHITESPACE = re.compile(r"\s+")
_CARD_NOISE = re.compile(r"[\s\-]+")


_INVALID: dict[str, type[InvalidIdentifier]] = {
    IdentifierKind.EMAIL: InvalidEmail,
    IdentifierKind.PHONE: InvalidPhone,
    IdentifierKind.LOYALTY_CARD: InvalidLoyaltyCard,
    IdentifierKind.WEB_ACCOUNT: InvalidWebAccount,
    IdentifierKind.POS_CUSTOMER: InvalidPosCustomer,
    IdentifierKind.DEVICE: InvalidDevice,
}


def _invalid(kind: str, detail: str) -> InvalidIdentifier:
    return _INVALID[kind](detail)


def normalise_email(raw: str) -> str:
    value = raw.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise _invalid(IdentifierKind.EMAIL, "An email address needs a name, an @ and a domain.")
    try:
        ascii_domain = domain.rstrip(".").lower().encode("idna").decode("ascii")
    except UnicodeError as error:
        raise _invalid(IdentifierKind.EMAIL, "The email domain is not a valid name.") from error
    value = f"{local.lower()}@{ascii_domain}"
    try:
        validate_email(value)
    except ValidationError as error:
        raise _invalid(IdentifierKind.EMAIL, "This is not a valid email address.") from error
    return value


def normalise_phone(raw: str) -> str:
    try:
        number = phonenumbers.parse(raw, settings.KASSA_DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as error:
        raise _invalid(IdentifierKind.PHONE, "This is not a phone number.") from error
    if not phonenumbers.is_valid_number(number):
        raise _invalid(IdentifierKind.PHONE, "This phone number does not exist in its region.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def loyalty_card_number(payload: str) -> str:
    """A valid loyalty card number: `payload` digits followed by their check digit.

    Card printing, demo data and tests use this to make numbers the till will accept.
    """
    if not payload.isdigit() or len(payload) + 1 not in LOYALTY_CARD_LENGTHS:
        raise ValueError("a loyalty card payload is 7 to 18 digits")
    return payload + luhn_check_digit(payload)


def normalise_loyalty_card(raw: str) -> str:
    value = _CARD_NOISE.sub("", raw)
    if not value.isascii() or not value.isdigit() or len(value) not in LOYALTY_CARD_LENGTHS:
        raise _invalid(IdentifierKind.LOYALTY_CARD, "A loyalty card number has 8 to 19 digits.")
    if luhn_check_digit(value[:-1]) != value[-1]:
        raise _invalid(IdentifierKind.LOYALTY_CARD, "The check digit of this card is wrong.")
    return value


def normalise_opaque(kind: str, raw: str) -> str:
    value = _WHITESPACE.sub("", raw).lower()
    if not value or len(value) > OPAQUE_MAX_LENGTH:
        raise _invalid(kind, f"Expected 1 to {OPAQUE_MAX_LENGTH} characters.")
    if any(unicodedata.category(char).startswith("C") for char in value):
        raise _invalid(kind, "Control characters are not allowed.")
    return value


def identifier_normalise(*, kind: str, value: str) -> str:
    """The one stored form of (kind, value); raises UnknownIdentifierKind or InvalidIdentifier."""
    if kind == IdentifierKind.EMAIL:
        return normalise_email(value)
    if kind == IdentifierKind.PHONE:
        return normalise_phone(value)
    if kind == IdentifierKind.LOYALTY_CARD:
        return normalise_loyalty_card(value)
    if kind in IdentifierKind.ALL:
        return normalise_opaque(kind, value)
    raise UnknownIdentifierKind(f"Unknown identifier kind {kind!r}.")


def identifier_normalise_any(value: str) -> list[tuple[str, str]]:
    """Every (kind, normalised value) a free-text term could be: the admin search box."""
    candidates = []
    for kind in IdentifierKind.ALL:
        try:
            candidates.append((kind, identifier_normalise(kind=kind, value=value)))
        except InvalidIdentifier:
            continue
    return candidates
