"""A hostile client gets a quick 4xx in the one JSON error shape, and nothing is written."""

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path
from rest_framework.test import APIClient

from config import limits
from merchants.models import IdempotencyRecord
from payments.models import Payment

PAYMENTS = "/api/v1/payments"


def _assert_error(response: Any, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"code", "detail", "field", "errors"}
    assert body["code"] == code, body
    assert body["errors"][0]["code"] == code
    return body


def _assert_nothing_written(*, refusal_recorded: bool = False) -> None:
    """No payment; and no idempotency record unless the refusal is the key's final answer."""
    assert not Payment.objects.exists()
    records = IdempotencyRecord.objects.values_list("status", flat=True)
    assert list(records) == (["completed"] if refusal_recorded else [])


def _post_raw(client: APIClient, url: str, raw: str | bytes, key: str = "hostile-1"):
    return client.post(url, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def _sale(amount: str = "10.00", **extra: object) -> dict:
    return {
        "amount": {"amount": amount, "currency": "EUR"},
        "capture": True,
        "tenders": [{"method": "cash"}],
        **extra,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deep_nesting_is_400_json_too_deep(terminal_api, opener: str) -> None:
    response = _post_raw(terminal_api, PAYMENTS, opener * 50_000)
    _assert_error(response, 400, "json_too_deep")
    _assert_nothing_written()


@pytest.mark.django_db
def test_nesting_one_level_past_the_limit_is_refused(terminal_api) -> None:
    nested: object = "x"
    for _ in range(limits.MAX_JSON_DEPTH):
        nested = [nested]
    response = _post_raw(terminal_api, PAYMENTS, json.dumps(_sale(external_reference=nested)))
    assert _assert_error(response, 400, "json_too_deep")["meta"] == {
        "maximum_depth": limits.MAX_JSON_DEPTH
    }
    _assert_nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("character", ["\\u0000", "\\ud800", "\\udfff"])
@pytest.mark.parametrize(
    ("template", "field"),
    [
        (
            '{"amount": {"amount": "1.00", "currency": "EUR"}, "channel": "%s", '
            '"tenders": [{"method": "cash"}]}',
            "channel",
        ),
        (
            '{"amount": {"amount": "1.00", "currency": "EUR"}, '
            '"tenders": [{"method": "cash"}, {"method": "ca%ssh"}]}',
            "tenders[1].method",
        ),
        (
            '{"amount": {"amount": "1.00", "currency": "EU%s"}, "tenders": [{"method": "cash"}]}',
            "amount.currency",
        ),
        (
            '{"amount": {"amount": "1.00", "currency": "EUR"}, "tenders": [{"method": "cash"}], '
            '"k%sey": 1}',
            None,
        ),
    ],
)
def test_nul_or_lone_surrogate_in_a_money_post_is_400(
    terminal_api, character: str, template: str, field: str | None
) -> None:
    response = _post_raw(terminal_api, PAYMENTS, template % character)
    assert _assert_error(response, 400, "invalid_characters")["field"] == field
    _assert_nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("character", ["\\u0000", "\\ud83d"])
def test_nul_or_lone_surrogate_in_identify_is_400(terminal_api, character: str) -> None:
    raw = f'{{"identifiers": [{{"kind": "loyalty{character}", "value": "6010000000011"}}]}}'
    response = terminal_api.post("/api/v1/customers/identify", raw, content_type="application/json")
    assert _assert_error(response, 400, "invalid_characters")["field"] == "identifiers[0].kind"


@pytest.mark.django_db
def test_paired_surrogates_are_ordinary_text(terminal_api) -> None:
    """An escaped emoji (a valid surrogate pair) passes the parser: the amount is what fails."""
    raw = json.dumps(_sale("abc", external_reference="till \U0001f600"))
    assert "\\ud83d\\ude00" in raw
    response = _post_raw(terminal_api, PAYMENTS, raw)
    assert _assert_error(response, 400, "invalid_amount")["field"] == "amount"


@pytest.mark.django_db
def test_invalid_utf8_is_400_malformed_json(terminal_api) -> None:
    response = _post_raw(terminal_api, PAYMENTS, b'{"external_reference": "\xed\xa0\x80"}')
    _assert_error(response, 400, "malformed_json")
    _assert_nothing_written()


@pytest.mark.django_db
def test_nan_is_400_malformed_json(terminal_api) -> None:
    response = _post_raw(terminal_api, PAYMENTS, '{"amount": NaN}')
    _assert_error(response, 400, "malformed_json")


@pytest.mark.django_db
def test_body_over_the_limit_is_413(terminal_api) -> None:
    raw = json.dumps(_sale(external_reference="x" * limits.MAX_REQUEST_BODY_BYTES))
    body = _assert_error(_post_raw(terminal_api, PAYMENTS, raw), 413, "request_too_large")
    assert body["meta"] == {"maximum_bytes": limits.MAX_REQUEST_BODY_BYTES}
    _assert_nothing_written()


@pytest.mark.django_db
def test_body_over_the_limit_read_raw_is_413() -> None:
    """The Stripe webhook reads `request.body`, where Django raises RequestDataTooBig."""
    raw = b"{" + b" " * limits.MAX_REQUEST_BODY_BYTES + b"}"
    response = APIClient().post("/api/v1/stripe/webhook", raw, content_type="application/json")
    _assert_error(response, 413, "request_too_large")


@pytest.mark.django_db
def test_non_json_content_type_is_415_json(terminal_api) -> None:
    response = terminal_api.post(
        PAYMENTS, "amount=1", content_type="text/plain", HTTP_IDEMPOTENCY_KEY="k"
    )
    _assert_error(response, 415, "unsupported_media_type")
    _assert_nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "amount",
    [
        "1_0.00",
        "1e2",
        "1E2",
        " 1.00 ",
        "1.00\n",
        "\uff11.\uff10\uff10",  # full-width digits
        "1e30",
        "Infinity",
        "NaN",
        ".5",
        "5.",
        "+5.00",
        "",
        "1" * 1000,
    ],
)
def test_amount_must_be_a_plain_ascii_decimal(terminal_api, amount: str) -> None:
    response = _post_raw(terminal_api, PAYMENTS, json.dumps(_sale(amount)))
    assert _assert_error(response, 400, "invalid_amount")["field"] == "amount"
    _assert_nothing_written(refusal_recorded=True)


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["1000000.00", "999999999999.99", "1000000000000"])
def test_amount_above_the_maximum_is_400_amount_too_large(terminal_api, amount: str) -> None:
    response = _post_raw(terminal_api, PAYMENTS, json.dumps(_sale(amount)))
    body = _assert_error(response, 400, "amount_too_large")
    assert body["field"] == "amount"
    assert body["meta"] == {"maximum": {"amount": "999999.99", "currency": "EUR"}}
    _assert_nothing_written(refusal_recorded=True)


@pytest.mark.django_db
def test_the_maximum_amount_itself_is_accepted(terminal_api) -> None:
    """Only the tender is refused: the amount at the maximum passed."""
    body = _sale(str(limits.MAX_AMOUNT), tenders=[{"method": "barter"}])
    response = _post_raw(terminal_api, PAYMENTS, json.dumps(body))
    assert _assert_error(response, 400, "invalid_choice")["field"] == "tenders[0].method"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [("status=%00", "status"), ("reference=a%00b", "reference"), ("st%00atus=x", None)],
)
def test_nul_in_a_query_string_is_400(terminal_api, query: str, field: str | None) -> None:
    response = terminal_api.get(f"{PAYMENTS}?{query}")
    assert _assert_error(response, 400, "invalid_characters")["field"] == field


@pytest.mark.django_db
def test_post_to_an_unknown_api_path_is_json_404_despite_csrf() -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/no-such-thing", "{}", content_type="application/json"
    )
    _assert_error(response, 404, "not_found")


def _crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def _forbid(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    path("api/v1/crash", _crash),
    path("api/v1/forbidden", _forbid),
    path("", include("config.urls")),
]


@pytest.fixture
def crashing_urls(settings) -> None:
    settings.ROOT_URLCONF = __name__


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_under_api_is_json_500(crashing_urls, settings, debug: bool) -> None:
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get("/api/v1/crash")
    _assert_error(response, 500, "server_error")


@pytest.mark.django_db
def test_django_permission_denied_under_api_is_json_403(crashing_urls) -> None:
    _assert_error(Client().get("/api/v1/forbidden"), 403, "permission_denied")


@pytest.mark.django_db
def test_a_disallowed_host_under_api_is_json_400() -> None:
    response = Client(HTTP_HOST="evil.example").get("/api/v1/me")
    _assert_error(response, 400, "bad_request")
