"""The ground the apps stand on: real PostgreSQL, real Stripe SDK, health, schema, errors."""

import pytest
import yaml
from django.db import connection
from drf_spectacular.validation import validate_schema


@pytest.mark.django_db
def test_suite_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 150000


def test_stripe_sdk_reaches_localstripe(stripe, localstripe) -> None:
    customer = stripe.v1.customers.create(params={"email": "ada@example.com"})
    assert customer.id.startswith("cus_")
    assert stripe.v1.customers.retrieve(customer.id).email == "ada@example.com"
    assert localstripe.api_base.startswith("http://127.0.0.1:")


@pytest.mark.django_db
def test_healthz_reports_the_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "postgresql"}


@pytest.mark.django_db
def test_schema_is_valid_openapi_3(client) -> None:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_api_docs_are_served_without_a_cdn(client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn.jsdelivr" not in response.content
    assert b"/static/drf_spectacular_sidecar/" in response.content


@pytest.mark.django_db
def test_admin_login_page(client) -> None:
    assert client.get("/admin/login/").status_code == 200
