import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.errors import InvalidRequest
from merchants import authentication
from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_hash, api_key_issue, api_key_revoke

pytestmark = pytest.mark.django_db


def test_only_the_hash_is_stored(merchant) -> None:
    api_key, raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")
    assert raw.startswith("kassa_m_")
    assert len(raw) > 40
    assert api_key.secret_hash == api_key_hash(raw)
    assert raw not in {api_key.prefix, api_key.secret_hash}


def test_terminal_key_answers_with_its_store_and_till(terminal_api, terminal) -> None:
    body = terminal_api.get("/api/v1/me").json()
    assert body["scope"] == "terminal"
    assert body["store_code"] == terminal.store.code
    assert body["terminal_code"] == terminal.code


def _later(monkeypatch, seconds: float) -> None:
    """Move the authentication cache's clock `seconds` ahead."""
    now = time.monotonic() + seconds
    monkeypatch.setattr(authentication.time, "monotonic", lambda: now)


def test_revoked_key_is_refused_within_the_cache_time(merchant, monkeypatch) -> None:
    api_key, raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me").status_code == 200
    api_key_revoke(api_key=api_key)
    # Served from this process's cache for at most KASSA_API_KEY_CACHE_SECONDS ...
    assert client.get("/api/v1/me").status_code == 200
    _later(monkeypatch, authentication.DEFAULT_CACHE_SECONDS + 0.1)
    # ... then refused.
    assert client.get("/api/v1/me").status_code == 401


def test_a_live_key_is_read_once_per_cache_period(merchant, monkeypatch) -> None:
    _, raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me").status_code == 200
    assert not any("merchants_apikey" in q["sql"] for q in queries.captured_queries)


@override_settings(KASSA_API_KEY_CACHE_SECONDS=0)
def test_without_the_cache_revocation_is_immediate(merchant) -> None:
    api_key, raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me").status_code == 200
    api_key_revoke(api_key=api_key)
    assert client.get("/api/v1/me").status_code == 401


def test_inactive_terminal_key_is_refused(terminal_api, terminal, monkeypatch) -> None:
    Terminal.objects.filter(pk=terminal.pk).update(is_active=False)
    _later(monkeypatch, authentication.DEFAULT_CACHE_SECONDS + 0.1)
    assert terminal_api.get("/api/v1/me").status_code == 401


def test_terminal_scope_needs_a_terminal_of_the_same_merchant(merchant, terminal) -> None:
    with pytest.raises(InvalidRequest):
        api_key_issue(merchant=merchant, scope=ApiKey.Scope.TERMINAL, name="till")
    with pytest.raises(InvalidRequest):
        api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="x", terminal=terminal)
    other = Merchant.objects.create(name="Other")
    with pytest.raises(InvalidRequest):
        api_key_issue(merchant=other, scope=ApiKey.Scope.TERMINAL, name="x", terminal=terminal)


def test_database_enforces_terminal_scope(merchant) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create(
            merchant=merchant, scope="terminal", name="x", prefix="x", secret_hash="h"
        )


def test_apikey_create_command_prints_a_working_key(merchant, capsys) -> None:
    store = Store.objects.create(merchant=merchant, code="S9", name="Nine")
    Terminal.objects.create(store=store, code="T4")
    call_command(
        "apikey_create", merchant=merchant.name, scope="terminal", terminal="S9/T4", name="t4"
    )
    raw = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me").json()["terminal_code"] == "T4"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 40, "DEBUG": "true"}, "DEBUG"),
        ({"SECRET_KEY": "x" * 40}, "STRIPE_SECRET_KEY"),
        (
            {
                "SECRET_KEY": "x" * 40,
                "STRIPE_SECRET_KEY": "sk_live_x",
                "STRIPE_WEBHOOK_SECRET": "whsec_x",
                "KASSA_CODE_HMAC_KEY": "k" * 40,
            },
            "EMAIL_URL",
        ),
        (
            {
                "SECRET_KEY": "x" * 40,
                "STRIPE_SECRET_KEY": "sk_live_x",
                "STRIPE_WEBHOOK_SECRET": "whsec_x",
                "KASSA_CODE_HMAC_KEY": "k" * 40,
                "EMAIL_URL": "smtp://mail.example.com:587",
            },
            "KASSA_SMS_SENDER",
        ),
    ],
)
def test_production_settings_refuse_insecure_defaults(env: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DATABASE_URL": "postgres://u@localhost/db",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr
