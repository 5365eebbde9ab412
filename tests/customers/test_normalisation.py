"""One spelling per identifier: noise in, the same stored value out."""

import pytest
from django.test import override_settings

from customers.errors import InvalidIdentifier, UnknownIdentifierKind
from customers.normalisation import (
    identifier_normalise,
    identifier_normalise_any,
    loyalty_card_number,
    luhn_check_digit,
)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "Ada@Example.COM", "ada@example.com"),
        ("email", "  ada.lovelace+shop@example.com \n", "ada.lovelace+shop@example.com"),
        ("email", "ADA@BÜCHER.example", "ada@xn--bcher-kva.example"),
        ("email", "ada@bücher.example.", "ada@xn--bcher-kva.example"),
        ("phone", "06 12345678", "+31612345678"),
        ("phone", "06-1234 5678", "+31612345678"),
        ("phone", "+31 6 1234 5678", "+31612345678"),
        ("phone", "0031612345678", "+31612345678"),
        ("phone", "(020) 123 4567", "+31201234567"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", "+1 (202) 555-0143", "+12025550143"),
        ("loyalty_card", "7992 7398 713", "79927398713"),
        ("loyalty_card", " 7992-7398-713 ", "79927398713"),
        ("web_account", "  Shop-Account-42 ", "shop-account-42"),
        ("pos_customer", "K 000 123", "k000123"),
        ("device", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
    ],
)
def test_noise_is_removed(kind: str, raw: str, expected: str) -> None:
    assert identifier_normalise(kind=kind, value=raw) == expected


def test_national_numbers_read_in_the_configured_region() -> None:
    assert identifier_normalise(kind="phone", value="020 123 4567") == "+31201234567"
    with override_settings(KASSA_DEFAULT_PHONE_REGION="GB"):
        assert identifier_normalise(kind="phone", value="020 7946 0958") == "+442079460958"
        assert identifier_normalise(kind="phone", value="+31 20 123 4567") == "+31201234567"


@pytest.mark.parametrize(
    ("kind", "raw", "code"),
    [
        ("email", "ada.example.com", "invalid_email"),
        ("email", "ada@", "invalid_email"),
        ("email", "ada lovelace@example.com", "invalid_email"),
        ("email", "", "invalid_email"),
        ("phone", "12", "invalid_phone"),
        ("phone", "call me", "invalid_phone"),
        ("phone", "06-1234567", "invalid_phone"),
        ("loyalty_card", "79927398710", "invalid_loyalty_card"),
        ("loyalty_card", "79927398731", "invalid_loyalty_card"),
        ("loyalty_card", "1234567", "invalid_loyalty_card"),
        ("loyalty_card", "7992739871x", "invalid_loyalty_card"),
        ("web_account", "   ", "invalid_web_account"),
        ("device", "x" * 129, "invalid_device"),
        ("pos_customer", "a\x00b", "invalid_pos_customer"),
    ],
)
def test_malformed_values_are_refused_with_their_kind_code(kind: str, raw: str, code: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        identifier_normalise(kind=kind, value=raw)
    assert caught.value.code == code


def test_unknown_kind() -> None:
    with pytest.raises(UnknownIdentifierKind):
        identifier_normalise(kind="passport", value="X123")


def test_luhn_check_digit_and_generated_numbers_pass() -> None:
    assert luhn_check_digit("7992739871") == "3"
    number = loyalty_card_number("601234567890")
    assert identifier_normalise(kind="loyalty_card", value=number) == number
    with pytest.raises(InvalidIdentifier):  # two adjacent digits of 79927398713 swapped
        identifier_normalise(kind="loyalty_card", value="79297398713")
    with pytest.raises(ValueError, match="7 to 18 digits"):
        loyalty_card_number("12")


def test_free_text_search_term_is_tried_as_every_kind() -> None:
    candidates = dict(identifier_normalise_any(" 06 1234 5678 "))
    assert candidates["phone"] == "+31612345678"
    assert candidates["pos_customer"] == "0612345678"
    assert "email" not in candidates
    assert dict(identifier_normalise_any("Ada@Example.com"))["email"] == "ada@example.com"
