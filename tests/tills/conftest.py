import io
import json
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue
from payments.till_cli import main
from payments.till_journal import Journal
from tests.factories import StoreFactory, TerminalFactory

Run = Callable[..., tuple[int, dict[str, Any]]]


@dataclass
class Till:
    store: Store
    terminal: Terminal
    key: ApiKey
    raw_key: str
    api: APIClient
    home: Path

    def journal(self) -> Journal:
        return Journal(self.home / "journal.sqlite3")


@pytest.fixture
def till(merchant: Merchant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Till:
    store = StoreFactory.create(merchant=merchant, code="AMS")
    terminal = TerminalFactory.create(store=store, code="T1")
    key, raw = api_key_issue(
        merchant=merchant, scope=ApiKey.Scope.TERMINAL, name="till", terminal=terminal
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    home = tmp_path / "till-home"
    monkeypatch.setenv("KASSA_TILL_HOME", str(home))
    return Till(store=store, terminal=terminal, key=key, raw_key=raw, api=api, home=home)


@pytest.fixture
def run() -> Run:
    """`kassa-till --json …` in-process (the real httpx client): its exit code and answer."""

    def invoke(*argv: str) -> tuple[int, dict[str, Any]]:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["--json", *argv])
        return code, json.loads(out.getvalue() or "{}")

    return invoke


def configure(run: Run, till: Till, server: str) -> None:
    code, _ = run("configure", "--server", server, "--key", till.raw_key, "--attempts", "2")
    assert code == 0
