"""A hostile client over real HTTP: every operation of the schema gets the same malformed
requests, and every answer must be a quick 4xx in the one JSON error shape.

Complements tests/foundation/test_hostile_input.py (which checks each refusal's exact code and
that nothing was written) by sweeping every path and method of the live server, through the
whole WSGI stack, with a merchant key and a till key. The corpus size and the outcome counts
are printed for the record.
"""

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from config import limits
from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SAMPLE_ID = "8d6e6f58-1111-4a4a-9b9b-0123456789ab"

HOSTILE_BODIES: dict[str, bytes] = {
    "deep_array": b"[" * 100_000,
    "deep_object": b'{"a":' * 50_000,
    "not_json": b"amount=10",
    "truncated": b'{"amount": {"amount": "1.00"',
    "invalid_utf8": b'{"reference": "\xff\xfe"}',
    "nan": b'{"amount": NaN}',
    "nul_in_key": b'{"a\\u0000": 1}',
    "lone_surrogate": b'{"channel": "\\ud800", "method": "\\udfff", "currency": "\\ud800"}',
    "nul_in_choice": b'{"channel": "pos\\u0000", "tenders": [{"method": "cash\\u0000"}]}',
    "huge_exponent": json.dumps({"amount": {"amount": "1e30", "currency": "EUR"}}).encode(),
    "thousand_digits": json.dumps({"amount": {"amount": "9" * 1000, "currency": "EUR"}}).encode(),
    "over_maximum": json.dumps(
        {"amount": {"amount": "1000000000000.00", "currency": "EUR"}}
    ).encode(),
    "underscored": json.dumps({"amount": {"amount": "1_0.00", "currency": "EUR"}}).encode(),
    "fullwidth": json.dumps({"amount": {"amount": "\uff11\uff10.00", "currency": "EUR"}}).encode(),
    "float_amount": b'{"amount": {"amount": 10.5, "currency": "EUR"}}',
    "wrong_types": b'{"amount": [], "tenders": "cash", "customer": 42, "identifiers": {}}',
    "many_tenders": json.dumps(
        {
            "amount": {"amount": "1.00", "currency": "EUR"},
            "tenders": [{"method": "cash"}] * (limits.MAX_TENDERS_PER_PAYMENT * 50),
        }
    ).encode(),
    "huge_quantity": json.dumps(
        {"basket": [{"sku": "x", "name": "x", "quantity": 10**30, "unit_price": None}]}
    ).encode(),
    "many_identifiers": json.dumps(
        {"identifiers": [{"kind": "email", "value": f"a{n}@example.com"} for n in range(500)]}
    ).encode(),
    "oversized": b'{"reference": "' + b"x" * (limits.MAX_REQUEST_BODY_BYTES + 10) + b'"}',
    "empty_array": b"[]",
    "scalar": b"12",
}

HOSTILE_QUERIES = [
    "page_size=100000",
    "page_size=-1",
    "status=%00",
    "reference=%ED%A0%80",
    "cursor=!!",
]
HOSTILE_KEYS: list[str | bytes] = ["", "k" * 300, "key with spaces", "café".encode()]


def _operations(client: httpx.Client) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/?format=json").json()
    operations: list[tuple[str, str]] = []
    for path, item in schema["paths"].items():
        concrete = path
        for name in (
            "payment_id",
            "customer_id",
            "public_id",
            "gift_card_id",
            "card_id",
            "merge_id",
            "account_id",
            "loyalty_account_id",
        ):
            concrete = concrete.replace("{" + name + "}", SAMPLE_ID)
        operations.extend((method.upper(), concrete) for method in item if method != "parameters")
    return operations


def _requests(operations: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    for method, path in operations:
        if method in ("POST", "PUT", "PATCH"):
            for body in HOSTILE_BODIES.values():
                yield {
                    "method": method,
                    "url": path,
                    "content": body,
                    "headers": {
                        "Content-Type": "application/json",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                }
            for key in HOSTILE_KEYS:
                yield {
                    "method": method,
                    "url": path,
                    "content": b"{}",
                    "headers": {"Content-Type": "application/json", "Idempotency-Key": key},
                }
            yield {
                "method": method,
                "url": path,
                "content": b"<xml/>",
                "headers": {"Content-Type": "application/xml"},
            }
        else:
            for query in HOSTILE_QUERIES:
                yield {"method": method, "url": f"{path}?{query}"}
    for method in ("GET", "POST", "DELETE", "PUT"):
        yield {
            "method": method,
            "url": "/api/v1/no-such-thing",
            "content": b"{}",
            "headers": {"Content-Type": "application/json"},
        }
        yield {"method": method, "url": "/api/v1/payments/not-a-uuid/capture"}


def _answered_properly(response: httpx.Response) -> bool:
    """Always JSON; a refusal in the one error shape (a read may ignore an unused query)."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return False
    if response.status_code < 400:
        return True
    body = response.json()
    return isinstance(body, dict) and {"code", "detail", "field", "errors"} <= set(body)


@pytest.mark.parametrize("scope", [ApiKey.Scope.MERCHANT, ApiKey.Scope.TERMINAL])
def test_a_hostile_corpus_gets_only_json_4xx(live_server, localstripe, scope) -> None:
    merchant = Merchant.objects.create(name="Hostile Retail")
    store = Store.objects.create(merchant=merchant, code="H1", name="Hostile store")
    till = Terminal.objects.create(store=store, code="T1", name="Hostile till")
    _, raw_key = api_key_issue(
        merchant=merchant,
        scope=scope,
        name=f"hostile {scope}",
        terminal=till if scope == ApiKey.Scope.TERMINAL else None,
    )
    headers = {"Authorization": f"Bearer {raw_key}"}
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as client:
        requests = list(_requests(_operations(client)))
        for request in requests:
            request_headers = {**headers, **request.pop("headers", {})}
            response = client.request(**request, headers=request_headers)
            outcomes[str(response.status_code)] += 1
            if response.status_code >= 500 or not _answered_properly(response):
                failures.append(
                    f"{request['method']} {request['url']} -> {response.status_code}: "
                    f"{response.text[:200]}"
                )
    print(f"\n{scope}: {len(requests)} hostile requests, statuses {dict(sorted(outcomes.items()))}")
    assert failures == []
    assert len(requests) > 300
