"""The export: one JSON document of everything held on a customer, streamed.

`customer_export_chunks` asks every app's handler in dependency order and writes
`{"schema_version": 1, "exported_at": …, "customer": <public id>, "apps": {<app>: {…}}}`.
Lists produced by iterators (ledger histories, payments, consent events) are written as they
are read (`QuerySet.iterator()`), so a long history never sits in memory whole.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from customers.models import Customer
from customers.privacy.contract import privacy_handlers

SCHEMA_VERSION = 1
_ENCODER = DjangoJSONEncoder(ensure_ascii=False)


def json_chunks(value: Any) -> Iterator[str]:
    """Encode `value` as JSON, lazily: mappings, lists and any iterator are walked."""
    if isinstance(value, Mapping):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield ("," if index else "") + _ENCODER.encode(str(key)) + ":"
            yield from json_chunks(item)
        yield "}"
    elif isinstance(value, list | tuple) or (
        isinstance(value, Iterable) and not isinstance(value, str | bytes)
    ):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from json_chunks(item)
        yield "]"
    else:
        yield _ENCODER.encode(value)


def customer_export(*, customer: Customer) -> dict[str, Any]:
    """The export document, with the handlers' lazy parts still lazy."""
    return {
        "schema_version": SCHEMA_VERSION,
        "exported_at": timezone.now().isoformat(),
        "customer": str(customer.public_id),
        "apps": {
            handler.app_label: handler.export(customer=customer) for handler in privacy_handlers()
        },
    }


def customer_export_chunks(*, customer: Customer) -> Iterator[str]:
    """The export as JSON text chunks, batched to a few kilobytes each."""
    buffer: list[str] = []
    size = 0
    for chunk in json_chunks(customer_export(customer=customer)):
        buffer.append(chunk)
        size += len(chunk)
        if size >= 8192:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def customer_export_json(*, customer: Customer) -> Any:
    """The whole export parsed (admin download, tests)."""
    return json.loads("".join(customer_export_chunks(customer=customer)))
