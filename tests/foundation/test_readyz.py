"""/readyz answers 503 naming the component that cannot be reached; /healthz stays 200."""

import os

import pytest
from django.test import Client

from config.embedded import free_port

pytestmark = pytest.mark.django_db

BROKER = os.environ.get("KASSA_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


def _ready(client: Client) -> tuple[int, list[str]]:
    response = client.get("/readyz")
    return response.status_code, response.json()["failing"]


def test_ready_when_database_broker_and_stripe_answer(client, settings, localstripe) -> None:
    settings.CELERY_BROKER_URL = BROKER
    assert _ready(client) == (200, [])


def test_a_broker_out_of_reach_is_named(client, settings, localstripe) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert _ready(client) == (503, ["broker"])
    assert client.get("/healthz").status_code == 200


def test_stripe_out_of_reach_is_named(client, settings) -> None:
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    assert _ready(client) == (503, ["stripe"])
