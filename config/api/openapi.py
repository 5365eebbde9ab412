"""The schema declares the error answers every operation can give, in the one error shape.

drf-spectacular documents the success answers from each view's serializers; the refusals come
from one exception handler (config.api.errors), so they are added here once, after generation,
for every operation: what any request can meet (bad input, authentication, scope, a missing
object, a lock-out), what a write can meet (conflicts, refusals, a body too large), and what a
money-moving request can meet (a declined card, the card processor out of reach).
"""

from typing import Any

ERROR_COMPONENT = "Error"

_ERROR_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Stable, machine-readable."},
        "detail": {"type": "string", "description": "For people."},
        "field": {"type": "string", "nullable": True, "description": "The failing field."},
        "meta": {"type": "object", "additionalProperties": True},
    },
    "required": ["code", "detail", "field"],
}

ERROR_SCHEMA = {
    **_ERROR_ITEM,
    "properties": {
        **_ERROR_ITEM["properties"],
        "errors": {"type": "array", "items": _ERROR_ITEM},
    },
    "required": ["code", "detail", "field", "errors"],
}

_ANY_REQUEST = {
    "400": "Invalid input: every problem is listed in `errors`.",
    "401": "No API key, or an unknown or revoked one.",
    "403": "The key's scope does not allow this operation.",
    "404": "No such object, or it is out of the key's reach.",
    "410": "The customer was erased: their data is gone.",
    "429": "Too many attempts; `Retry-After` says when to try again.",
}
_WRITES = {
    "409": "Conflicts with the object's state or a concurrent request.",
    "413": "The request body is larger than the API accepts.",
    "415": "The body is not JSON.",
    "422": "Well-formed but refused by a business rule.",
}
_MONEY = {
    "402": "The money is not there: insufficient funds or a declined card.",
    "503": "The card processor is out of reach; nothing was charged. Retry with the same key.",
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
        },
    }


def _moves_money(operation: dict[str, Any]) -> bool:
    return any(
        parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key"
        for parameter in operation.get("parameters", [])
    )


def error_responses_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: add the error answers to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = dict(_ANY_REQUEST)
            if method in ("post", "put", "patch", "delete"):
                statuses.update(_WRITES)
            if _moves_money(operation) or "/payments" in str(operation.get("operationId", "")):
                statuses.update(_MONEY)
            for status, description in statuses.items():
                operation["responses"].setdefault(status, _error_response(description))
    return result
