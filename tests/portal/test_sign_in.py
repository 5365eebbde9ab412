"""Passwordless sign-in: codes, attempts, lockout, no enumeration, CSRF, registration."""

import re

import pytest
from django.core import mail
from django.test import Client

from portal.models import OneTimeCode
from tests.portal.conftest import last_code, make_customer, sign_in

# Codes are sent once the row commits (on_commit): real transactions.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_verified_email_signs_in_with_the_code_and_signs_out(client, merchant) -> None:
    make_customer(merchant, "ada@example.com")
    sign_in(client, "ada@example.com")
    assert client.get("/portal/wallet/").status_code == 200
    assert client.post("/portal/sign-out/").status_code == 302
    assert client.get("/portal/wallet/").status_code == 302
    row = OneTimeCode.objects.get()
    assert len(row.code_hash) == 64
    assert last_code("ada@example.com") not in row.code_hash


def test_unknown_and_unverified_get_the_same_answer_and_no_code(client, merchant) -> None:
    make_customer(merchant, "eve@example.com", verified=False)
    pages = []
    for email in ("eve@example.com", "nobody@example.com"):
        response = client.post("/portal/sign-in/", {"contact": email}, follow=True)
        page = response.content.decode().replace(email, "EMAIL")
        pages.append(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page))
        # Even the right digits cannot exist: nothing was sent.
        assert not mail.outbox
        response = client.post("/portal/code/", {"code": "123456"})
        assert response.status_code == 200
        assert client.get("/portal/wallet/").status_code == 302
    assert pages[0] == pages[1]


def test_five_wrong_codes_lock_for_15_minutes(client, merchant) -> None:
    make_customer(merchant, "ada@example.com")
    client.post("/portal/sign-in/", {"contact": "ada@example.com"})
    good = last_code("ada@example.com")
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(4):
        body = client.post("/portal/code/", {"code": wrong}).content.decode()
        assert "Tries left" in body
    body = client.post("/portal/code/", {"code": wrong}).content.decode()
    assert "locked for 15 minutes" in body
    # The right code no longer works, nor does asking for a new one.
    body = client.post("/portal/code/", {"code": good}).content.decode()
    assert "locked" in body
    body = client.post("/portal/sign-in/", {"contact": "ada@example.com"}).content.decode()
    assert "locked" in body
    assert client.get("/portal/wallet/").status_code == 302


def test_codes_are_rate_limited_per_identifier(client, merchant) -> None:
    make_customer(merchant, "ada@example.com")
    for _ in range(5):
        assert client.post("/portal/sign-in/", {"contact": "ada@example.com"}).status_code == 302
    body = client.post("/portal/sign-in/", {"contact": "ada@example.com"}).content.decode()
    assert "Too many codes" in body


def test_a_post_without_csrf_is_refused(merchant) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/portal/sign-in/", {"contact": "ada@example.com"})
    assert response.status_code == 403


def test_register_verifies_the_email_then_signs_in(client, merchant) -> None:
    response = client.post(
        "/portal/register/",
        {"first_name": "Grace", "last_name": "Hopper", "email": "g@example.com"},
    )
    assert response.status_code == 302
    client.post("/portal/code/", {"code": last_code("g@example.com")})
    body = client.get("/portal/wallet/").content.decode()
    assert "Grace" in body
    client.post("/portal/sign-out/")
    sign_in(client, "g@example.com")


def test_french_from_the_browser(client, merchant) -> None:
    body = client.get("/portal/sign-in/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'lang="fr"' in body
    assert "Se connecter" in body
