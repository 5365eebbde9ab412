"""One answer per error: each code has one HTTP status, declared once, and documented.

Every app declares its refusals in `<app>/errors.py`; `config.errors.ERROR_CODES` is the
catalogue they fill as they are defined. A validation error (DRF's, always 400) must not reuse
a domain error's code with another status, and every code must be in the table in docs/api.md.
"""

import ast
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rest_framework import fields, relations, serializers

from config.errors import (
    ERROR_CODES,
    CardDeclined,
    Conflict,
    InvalidRequest,
    KassaError,
    NotFound,
    StripeUnavailable,
)

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "config",
    "merchants",
    "customers",
    "wallet",
    "payments",
    "insights",
    "tills",
    "reconciliation",
)
SKIPPED = frozenset({"migrations", "management", "settings", "wsgi", "asgi"})
# A documented code: a table row that starts "| `code` | status |".
DOC_ROW = re.compile(r"^\|\s*`([a-z0-9_]+)`\s*\|\s*(\d{3})\s*\|", re.MULTILINE)


def import_every_module() -> list[str]:
    """Import every module of the six apps, so that every error class is declared."""
    imported = []
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if SKIPPED & set(module.name.split(".")):
                continue
            importlib.import_module(module.name)
            imported.append(module.name)
    return imported


def test_every_code_has_one_http_error_status() -> None:
    assert import_every_module()
    assert ERROR_CODES
    for code, status in ERROR_CODES.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code), code
        assert type(status) is int, (code, status)
        assert 400 <= status <= 599, (code, status)


# -- validation codes ---------------------------------------------------------------------------


def _api_sources() -> list[Path]:
    paths = {*ROOT.glob("*/api/*.py"), *ROOT.glob("config/api/*.py")}
    return sorted(path for path in paths if path.parts[-3] in APPS)


def _literal(node: ast.AST | None) -> str | None:
    """ "x" for `"x"` and for `ErrorCode("x", ...)`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and _name(node.func) == "ErrorCode" and node.args:
        return _literal(node.args[0])
    return None


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def validation_codes_in(source: str) -> Iterator[str]:
    """The codes a serializer or field answers as a DRF validation error (always 400):
    `ValidationError(..., code="x")`, `ErrorCode("x")`, `self.fail("x")`, the keys of
    `default_error_messages`, and the `too_..._code = "x"` a bounded field raises as ErrorCode."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name == "ValidationError":
                codes = [_literal(k.value) for k in node.keywords if k.arg == "code"]
            elif name in ("ErrorCode", "fail"):
                codes = [_literal(node.args[0])] if node.args else []
            else:
                codes = [
                    _literal(k.value)
                    for k in node.keywords
                    if re.fullmatch(r"too_\w+_code", k.arg or "")
                ]
            yield from (code for code in codes if code)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = _name(node.targets[0])
            if target == "default_error_messages" and isinstance(node.value, ast.Dict):
                yield from (key for key in map(_literal, node.value.keys) if key)
            elif re.fullmatch(r"too_\w+_code", target) and (code := _literal(node.value)):
                yield code


def _drf_field_codes() -> set[str]:
    """The codes DRF's own fields, relations and serializers answer."""
    codes: set[str] = {"required", "null", "invalid"}
    for module in (fields, relations, serializers):
        for value in vars(module).values():
            messages = getattr(value, "default_error_messages", None)
            if isinstance(value, type) and isinstance(messages, dict):
                codes.update(messages)
    return codes


def test_the_scan_finds_validation_codes() -> None:
    source = """
class F(serializers.Field):
    default_error_messages = {"bad_thing": "…"}
    too_large_code = "thing_too_large"

    def to_internal_value(self, data):
        self.fail("bad_thing")
        raise serializers.ValidationError({"x": "…"}, code="thing_mismatch")
        raise serializers.ValidationError("…", code=ErrorCode("too_many_things", maximum=3))
        Limited(too_many_code="too_many_others")
"""
    assert set(validation_codes_in(source)) == {
        "bad_thing",
        "thing_too_large",
        "thing_mismatch",
        "too_many_things",
        "too_many_others",
    }


def test_validation_codes_are_never_a_domain_code_of_another_status() -> None:
    import_every_module()
    found: dict[str, set[str]] = {}
    for path in _api_sources():
        for code in validation_codes_in(path.read_text()):
            found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    assert {"currency_mismatch", "too_many_tenders", "amount_too_large"} <= set(found)
    for code in _drf_field_codes():
        found.setdefault(code, set()).add("rest_framework")
    clashes = {
        code: (ERROR_CODES[code], sorted(where))
        for code, where in found.items()
        if ERROR_CODES.get(code, 400) != 400
    }
    assert clashes == {}, "validation errors answer 400; these codes are registered otherwise"


# -- the structural rule ------------------------------------------------------------------------


def test_an_unregistered_code_is_refused() -> None:
    with pytest.raises(TypeError, match="unregistered error code"):
        KassaError("x", code="never_registered")
    with pytest.raises(TypeError, match="unregistered error code"):
        InvalidRequest("x", code="never_registered")
    assert "never_registered" not in ERROR_CODES


def test_a_registered_code_answers_its_registered_status_whatever_the_class() -> None:
    assert (CardDeclined().code, CardDeclined().status) == ("card_declined", 402)
    declined = InvalidRequest("Declined.", code="card_declined", field="tenders[0]")
    assert (declined.code, declined.status, declined.field) == ("card_declined", 402, "tenders[0]")
    unavailable = Conflict("x", code=StripeUnavailable.code)
    assert (unavailable.code, unavailable.status) == ("card_processor_unavailable", 503)
    not_found = KassaError(code="not_found")
    assert (not_found.code, not_found.status) == ("not_found", NotFound.status)
    # Without a code an error is its class's.
    assert (InvalidRequest().code, InvalidRequest().status) == ("invalid", 400)


def test_a_code_cannot_be_declared_with_a_second_status() -> None:
    with pytest.raises(TypeError, match="card_declined"):

        class _Declined(Conflict):
            code = "card_declined"


# -- the documentation --------------------------------------------------------------------------

_CATALOGUE = """
import json
import django
django.setup()
from tests.foundation.test_error_codes import import_every_module
from config.errors import ERROR_CODES
import_every_module()
print(json.dumps(ERROR_CODES))
"""


def _catalogue() -> dict[str, int]:
    """ERROR_CODES as the apps alone declare it: in a fresh interpreter, so error classes
    that tests declare for themselves are not counted."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "-c", _CATALOGUE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    catalogue: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return catalogue


def test_every_code_is_in_the_table_in_the_api_docs() -> None:
    documented = {
        code: int(status) for code, status in DOC_ROW.findall((ROOT / "docs/api.md").read_text())
    }
    catalogue = _catalogue()
    missing = sorted(code for code in catalogue if code not in documented)
    wrong = {
        code: (documented[code], status)
        for code, status in catalogue.items()
        if code in documented and documented[code] != status
    }
    assert missing == [], "add a row `| `code` | status | app |` to docs/api.md"
    assert wrong == {}, "documented status differs from the code's (documented, actual)"
