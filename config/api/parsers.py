"""The API's JSON parser: bounded in size and depth, and only text PostgreSQL can store.

DRF's own parser recurses as deep as the client nests (100,000 `[` crash the worker with a
RecursionError) and hands NULs and unpaired surrogates to the views, where they reach
choice-field error messages, the database and idempotency records that cannot store them.
"""

import json
import re
from collections import deque
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from config import limits
from config.errors import InvalidCharacters, JsonTooDeep, RequestTooLarge

# NUL (PostgreSQL text and jsonb refuse it) and lone UTF-16 surrogates (not encodable as UTF-8).
UNSAFE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_parsed(data: Any) -> None:
    """Refuse containers nested deeper than MAX_JSON_DEPTH and unsafe characters, iteratively."""
    queue: deque[tuple[Any, int, str]] = deque([(data, 1, "")])
    while queue:
        value, depth, path = queue.popleft()
        if isinstance(value, str):
            if UNSAFE_CHARACTERS.search(value):
                raise InvalidCharacters(field=path or None)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > limits.MAX_JSON_DEPTH:
            raise JsonTooDeep(meta={"maximum_depth": limits.MAX_JSON_DEPTH})
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and UNSAFE_CHARACTERS.search(key):
                raise InvalidCharacters(field=path or None)
            queue.append((item, depth + 1, _child_path(path, key)))


class StrictJSONParser(BaseParser):
    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read(limits.MAX_REQUEST_BODY_BYTES + 1)
        if len(raw) > limits.MAX_REQUEST_BODY_BYTES:
            raise RequestTooLarge(meta={"maximum_bytes": limits.MAX_REQUEST_BODY_BYTES})
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ParseError("JSON parse error - the body is not valid UTF-8.") from error
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError as error:
            raise JsonTooDeep(meta={"maximum_depth": limits.MAX_JSON_DEPTH}) from error
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error
        check_parsed(data)
        return data
