"""Presentation strength at the till: a typed identifier finds, only a strong one unlocks.

Issue 9: a till of another store typed a customer's email and got their whole profile and wallet.
"""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from config import messaging
from config.limits import MAX_IDENTIFIERS_PER_REQUEST, MAX_TEXT_LENGTH
from customers.models import CustomerAccessGrant, PresentationCode
from customers.normalisation import loyalty_card_number
from merchants.models import ApiKey
from merchants.services import api_key_issue
from tests.conftest import _client_for
from tests.customers.factories import IdentifierFactory, LoyaltyCardFactory
from tests.factories import CustomerFactory, StoreFactory, TerminalFactory

pytestmark = pytest.mark.django_db

IDENTIFY = "/api/v1/customers/identify"
CARD = loyalty_card_number("601234567890")


@pytest.fixture
def ada(merchant):
    customer = CustomerFactory.create(merchant=merchant, first_name="Ada", last_name="Lovelace")
    IdentifierFactory.create(customer=customer, value="ada@example.com", verified=True)
    IdentifierFactory.create(customer=customer, kind="phone", value="+31612345678", verified=True)
    LoyaltyCardFactory.create(customer=customer, value=CARD)
    return customer


@pytest.fixture
def other_store_till(merchant):
    """A till of another store of the same merchant, as in the issue."""
    terminal = TerminalFactory.create(store=StoreFactory.create(merchant=merchant, code="UTR"))
    _, raw = api_key_issue(
        merchant=merchant, scope=ApiKey.Scope.TERMINAL, name="utrecht", terminal=terminal
    )
    return _client_for(raw)


def _identify(client, kind: str, value: str, presentation: str = "typed") -> dict:
    body = {"identifiers": [{"kind": kind, "value": value, "presentation": presentation}]}
    response = client.post(IDENTIFY, body, format="json")
    assert response.status_code in (200, 201), response.json()
    return response.json()


def _send(client, customer, via: str = "email", capture=None):
    url = f"/api/v1/customers/{customer.public_id}/presentation-codes"
    if capture is None:
        return client.post(url, {"via": via}, format="json")
    with capture(execute=True):
        return client.post(url, {"via": via}, format="json")


def _verify(client, customer, code: str):
    url = f"/api/v1/customers/{customer.public_id}/presentation-codes/verify"
    return client.post(url, {"code": code}, format="json")


def _code_in(body: object) -> str:
    found = re.search(r"\b(\d{6})\b", str(body))
    assert found is not None, body
    return found.group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_typed_email_shows_the_minimal_profile_and_nothing_else(
    ada, other_store_till, merchant_api
) -> None:
    found = _identify(other_store_till, "email", "ADA@example.com")
    assert (found["customer"], found["strength"]) == (str(ada.public_id), "weak")
    url = f"/api/v1/customers/{ada.public_id}"
    assert other_store_till.get(url).json() == {
        "profile": "minimal",
        "public_id": str(ada.public_id),
        "first_name": "Ada",
        "identifiers": [
            {"kind": "email", "value": "a***@example.com", "verified": True},
            {"kind": "loyalty_card", "value": "*" * (len(CARD) - 4) + CARD[-4:], "verified": False},
            {"kind": "phone", "value": "+31 6 ******78", "verified": True},
        ],
    }
    for path in (f"{url}/consents", f"{url}/wallet", f"{url}/bank-cards", f"{url}/loyalty"):
        refused = other_store_till.get(path)
        assert (refused.status_code, refused.json()["code"]) == (
            403,
            "strong_presentation_required",
        ), path
    consent = other_store_till.post(
        f"{url}/consent-events",
        {"purpose": "marketing_email", "granted": True, "evidence": "typed at till"},
        format="json",
    )
    assert consent.status_code == 403
    assert merchant_api.get(url).json()["profile"] == "full", "the web shop is unaffected"
    assert merchant_api.get(url).json()["last_name"] == "Lovelace"


def test_a_scanned_loyalty_card_of_the_customer_is_strong_for_points_only(
    ada, terminal_api
) -> None:
    assert _identify(terminal_api, "loyalty_card", CARD, "scanned")["strength"] == "loyalty"
    url = f"/api/v1/customers/{ada.public_id}"
    assert terminal_api.get(url).json()["profile"] == "minimal"
    assert terminal_api.get(f"{url}/consents").status_code == 200
    assert terminal_api.get(f"{url}/wallet").status_code == 403
    assert _identify(terminal_api, "loyalty_card", CARD)["strength"] == "loyalty", (
        "typing the card again does not take away what the scan proved"
    )


def test_a_fresh_card_scanned_next_to_a_typed_email_proves_nothing(ada, terminal_api) -> None:
    body = {
        "identifiers": [
            {"kind": "email", "value": "ada@example.com"},
            {
                "kind": "loyalty_card",
                "value": loyalty_card_number("601999999999"),
                "presentation": "scanned",
            },
        ]
    }
    answer = terminal_api.post(IDENTIFY, body, format="json").json()
    assert [row["status"] for row in answer["identifiers"]] == ["matched", "attached"]
    assert answer["strength"] == "weak"


def test_only_a_loyalty_card_can_be_scanned(terminal_api) -> None:
    response = terminal_api.post(
        IDENTIFY,
        {"identifiers": [{"kind": "email", "value": "a@example.com", "presentation": "scanned"}]},
        format="json",
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (
        "presentation_not_supported",
        "identifiers[0].presentation",
    )


def test_a_code_read_back_from_the_verified_email_unlocks_the_wallet(
    ada, other_store_till, terminal_api, django_capture_on_commit_callbacks
) -> None:
    _identify(other_store_till, "email", "ada@example.com")
    _identify(terminal_api, "email", "ada@example.com")
    sent = _send(other_store_till, ada, "email", django_capture_on_commit_callbacks)
    assert sent.status_code == 201, sent.json()
    assert sent.json()["sent_to"] == "a***@example.com"
    assert [message.to for message in mail.outbox] == [["ada@example.com"]]
    code = _code_in(mail.outbox[0].body)
    stored = PresentationCode.objects.get()
    assert code not in {stored.code_hash, stored.salt}

    verified = _verify(other_store_till, ada, code)
    assert verified.status_code == 200, verified.json()
    assert verified.json()["strength"] == "wallet"
    url = f"/api/v1/customers/{ada.public_id}"
    assert other_store_till.get(url).json()["profile"] == "full"
    assert other_store_till.get(f"{url}/wallet").status_code == 200
    assert terminal_api.get(url).json()["profile"] == "minimal", "the grant is this till's only"
    again = _verify(other_store_till, ada, code)
    assert (again.status_code, again.json()["code"]) == (400, "presentation_code_expired")


def test_a_code_goes_by_sms_to_the_verified_phone(
    ada, terminal_api, settings, django_capture_on_commit_callbacks
) -> None:
    settings.KASSA_SMS_SENDER = "config.messaging.LocmemSmsSender"
    messaging.sms_outbox.clear()
    _identify(terminal_api, "phone", "06 1234 5678")
    sent = _send(terminal_api, ada, "phone", django_capture_on_commit_callbacks)
    assert sent.json()["sent_to"] == "+31 6 ******78"
    assert [sms.to for sms in messaging.sms_outbox] == ["+31612345678"]
    code = _code_in(messaging.sms_outbox[0].body)
    assert _verify(terminal_api, ada, code).json()["strength"] == "wallet"


def test_a_code_is_sent_only_to_a_verified_identifier(merchant, terminal_api) -> None:
    customer = CustomerFactory.create(merchant=merchant)
    IdentifierFactory.create(customer=customer, value="bob@example.com", verified=False)
    _identify(terminal_api, "email", "bob@example.com")
    for via in ("email", "phone"):
        refused = _send(terminal_api, customer, via)
        assert (refused.status_code, refused.json()["code"]) == (422, "identifier_not_verified")
    assert mail.outbox == []
    assert not PresentationCode.objects.exists()


def test_codes_need_a_till_that_identified_the_customer(ada, terminal_api, merchant_api) -> None:
    refused = _send(terminal_api, ada)
    assert (refused.status_code, refused.json()["code"]) == (404, "customer_not_found")
    assert _send(merchant_api, ada).status_code == 403, "the web shop signs its customers in"


def test_five_wrong_codes_lock_the_code(
    ada, terminal_api, django_capture_on_commit_callbacks
) -> None:
    _identify(terminal_api, "email", "ada@example.com")
    _send(terminal_api, ada, "email", django_capture_on_commit_callbacks)
    code = _code_in(mail.outbox[0].body)
    for left in (4, 3, 2, 1):
        wrong = _verify(terminal_api, ada, _wrong(code))
        assert wrong.status_code == 400
        assert (wrong.json()["code"], wrong.json()["meta"]) == (
            "presentation_code_invalid",
            {"attempts_left": left},
        )
    locked = _verify(terminal_api, ada, _wrong(code))
    assert (locked.status_code, locked.json()["code"]) == (429, "presentation_code_locked")
    retry_after = locked.json()["meta"]["retry_after_seconds"]
    assert 0 < retry_after <= 600
    assert locked.headers["Retry-After"] == str(retry_after)
    assert _verify(terminal_api, ada, code).status_code == 429, "the right code comes too late"
    resend = _send(terminal_api, ada)
    assert (resend.status_code, resend.json()["code"]) == (429, "presentation_code_locked")
    assert terminal_api.get(f"/api/v1/customers/{ada.public_id}/wallet").status_code == 403


def test_an_expired_code_is_refused(ada, terminal_api, django_capture_on_commit_callbacks) -> None:
    _identify(terminal_api, "email", "ada@example.com")
    _send(terminal_api, ada, "email", django_capture_on_commit_callbacks)
    PresentationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = _verify(terminal_api, ada, _code_in(mail.outbox[0].body))
    assert (expired.status_code, expired.json()["code"]) == (400, "presentation_code_expired")


def test_a_new_code_replaces_the_last_and_sends_are_limited(
    ada, terminal_api, django_capture_on_commit_callbacks
) -> None:
    _identify(terminal_api, "email", "ada@example.com")
    for _ in range(5):
        assert (
            _send(terminal_api, ada, "email", django_capture_on_commit_callbacks).status_code == 201
        )
    first, last = (_code_in(message.body) for message in (mail.outbox[0], mail.outbox[-1]))
    limited = _send(terminal_api, ada)
    assert (limited.status_code, limited.json()["code"]) == (429, "presentation_codes_rate_limited")
    assert 3500 < int(limited.headers["Retry-After"]) <= 3600
    if first != last:
        assert _verify(terminal_api, ada, first).json()["code"] == "presentation_code_invalid"
    assert _verify(terminal_api, ada, last).status_code == 200


def test_the_strong_part_expires_before_the_grant(
    ada, terminal_api, django_capture_on_commit_callbacks
) -> None:
    _identify(terminal_api, "email", "ada@example.com")
    _send(terminal_api, ada, "email", django_capture_on_commit_callbacks)
    answer = _verify(terminal_api, ada, _code_in(mail.outbox[0].body)).json()
    grant = CustomerAccessGrant.objects.get()
    assert grant.wallet_strong_until is not None
    assert grant.wallet_strong_until - timezone.now() <= timedelta(minutes=15)
    assert grant.expires_at > grant.wallet_strong_until
    assert answer["strong_until"] is not None
    url = f"/api/v1/customers/{ada.public_id}"
    past = timezone.now()
    CustomerAccessGrant.objects.update(wallet_strong_until=past, loyalty_strong_until=past)
    assert terminal_api.get(url).json()["profile"] == "minimal"
    assert terminal_api.get(f"{url}/wallet").status_code == 403
    assert _identify(terminal_api, "email", "ada@example.com")["strength"] == "weak"


def test_identifiers_per_request_are_capped(terminal_api) -> None:
    many = [
        {"kind": "email", "value": f"p{n}@example.com"}
        for n in range(MAX_IDENTIFIERS_PER_REQUEST + 1)
    ]
    response = terminal_api.post(IDENTIFY, {"identifiers": many}, format="json")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (
        "too_many_identifiers",
        "identifiers",
    )


def test_free_text_is_bounded(merchant, merchant_api, staff_api) -> None:
    customer = CustomerFactory.create(merchant=merchant)
    other = CustomerFactory.create(merchant=merchant)
    too_long = "x" * (MAX_TEXT_LENGTH + 1)
    consent = merchant_api.post(
        f"/api/v1/customers/{customer.public_id}/consent-events",
        {"purpose": "marketing_email", "granted": True, "evidence": too_long},
        format="json",
    )
    merge = staff_api.post(
        "/api/v1/customers/merges",
        {"survivor": str(customer.public_id), "absorbed": str(other.public_id), "reason": too_long},
        format="json",
    )
    name = merchant_api.post(
        IDENTIFY,
        {"identifiers": [{"kind": "email", "value": "a@example.com"}], "first_name": "x" * 151},
        format="json",
    )
    for response, field in ((consent, "evidence"), (merge, "reason"), (name, "first_name")):
        assert (response.status_code, response.json()["code"], response.json()["field"]) == (
            400,
            "max_length",
            field,
        )
