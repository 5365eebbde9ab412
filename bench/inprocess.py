"""Checkouts run inside this process through Django's test client, against the same settings
and database as the served app: to count the SQL statements one checkout sends, and to see
where the time of one checkout goes.

Where the time goes is measured twice:
- without a profiler, by timing every SQL round trip (`connection.execute_wrapper`) and the
  outermost (de)serialisation calls (DRF `is_valid` and `.data`, JSON parse and render); the
  rest is Python: Django and DRF dispatch, authentication, the engine's own logic and the ORM
  building queries and model instances;
- under cProfile, for which functions dominate (cProfile inflates Python time, so its shares
  are for ranking, not for the split above).
"""

import cProfile
import io
import pstats
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import BaseSerializer

from bench.scenarios import Scenario, checkout_in_process
from bench.seed import Fixture


@dataclass
class Statements:
    """What one checkout sends: statements as Django logs them, which is every round trip
    (BEGIN, COMMIT and SAVEPOINTs included), and transactions (committed `atomic` blocks plus
    statements run in autocommit, each its own transaction)."""

    sql: list[str]
    transactions: int

    @property
    def count(self) -> int:
        return len(self.sql)

    def by_kind(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for statement in self.sql:
            upper = statement.upper()
            kind = upper.split(maxsplit=1)[0] if upper.strip() else "?"
            if kind == "SELECT" and " FOR UPDATE" in upper:
                kind = "SELECT FOR UPDATE"
            kinds[kind] = kinds.get(kind, 0) + 1
        return kinds


def _client() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


@contextmanager
def _counting_transactions() -> Iterator[list[int]]:
    """Count commits of outermost `atomic` blocks and statements run in autocommit."""
    counter = [0]
    database = connections[DEFAULT_DB_ALIAS]
    commit = database.commit

    def counted_commit() -> None:
        counter[0] += 1
        commit()

    def autocommit_statements(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if not database.in_atomic_block:
            counter[0] += 1
        return execute(sql, params, many, context)

    database.commit = counted_commit  # type: ignore[method-assign]
    try:
        with database.execute_wrapper(autocommit_statements):
            yield counter
    finally:
        del database.commit


def statements_per_checkout(scenario: Scenario, fixture: Fixture, *, warm: int = 2) -> Statements:
    """The statements of one steady-state checkout (after `warm` checkouts fill the caches)."""
    client = _client()
    for n in range(warm):
        checkout_in_process(scenario, fixture, client, 1_000_000 + n)
    with CaptureQueriesContext(connection) as captured, _counting_transactions() as commits:
        checkout_in_process(scenario, fixture, client, 1_000_000 + warm)
    return Statements(
        sql=[query["sql"] for query in captured.captured_queries], transactions=commits[0]
    )


@dataclass
class Split:
    """Seconds per checkout, without a profiler."""

    checkouts: int
    total: float = 0.0
    sql: float = 0.0
    serialisation: float = 0.0
    statements: int = 0

    @property
    def python(self) -> float:
        return self.total - self.sql - self.serialisation


@dataclass
class _Timers:
    sql: float = 0.0
    sql_in_serialisation: float = 0.0
    serialisation: float = 0.0
    statements: int = 0
    depth: int = 0


def _timed_method(owner: type, name: str, timers: _Timers) -> tuple[Any, Any]:
    original = owner.__dict__[name]
    function = original.fget if isinstance(original, property) else original
    if function is None:
        raise TypeError(f"{owner.__name__}.{name} has no getter")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        timers.depth += 1
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            timers.depth -= 1
            if timers.depth == 0:
                timers.serialisation += time.perf_counter() - started

    return original, (property(wrapper) if isinstance(original, property) else wrapper)


@contextmanager
def _instrumented(timers: _Timers) -> Iterator[None]:
    patches = [
        (BaseSerializer, "is_valid"),
        (BaseSerializer, "data"),
        (JSONParser, "parse"),
        (JSONRenderer, "render"),
    ]
    originals = []
    for owner, name in patches:
        original, wrapper = _timed_method(owner, name, timers)
        originals.append((owner, name, original))
        setattr(owner, name, wrapper)

    def timed_sql(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - started
            timers.sql += spent
            timers.statements += 1
            if timers.depth:
                timers.sql_in_serialisation += spent

    try:
        with connection.execute_wrapper(timed_sql):
            yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def time_split(scenario: Scenario, fixture: Fixture, *, checkouts: int) -> Split:
    client = _client()
    checkout_in_process(scenario, fixture, client, 2_000_000)
    timers = _Timers()
    with _instrumented(timers):
        started = time.perf_counter()
        for n in range(checkouts):
            checkout_in_process(scenario, fixture, client, 2_000_001 + n)
        total = time.perf_counter() - started
    return Split(
        checkouts=checkouts,
        total=total / checkouts,
        sql=timers.sql / checkouts,
        serialisation=(timers.serialisation - timers.sql_in_serialisation) / checkouts,
        statements=timers.statements // checkouts,
    )


# Functions whose cumulative time tells what a checkout spends its Python on.
_AREAS = {
    "SQL round trips (psycopg execute, incl. waiting for the server)": [
        ("django/db/backends/utils.py", "_execute")
    ],
    "ORM: compiling queries to SQL": [("django/db/models/sql/compiler.py", "as_sql")],
    "ORM: building model instances from rows": [
        ("django/db/models/base.py", "from_db"),
    ],
    "transaction.atomic enter/exit (savepoints included)": [
        ("django/db/transaction.py", "__enter__"),
        ("django/db/transaction.py", "__exit__"),
    ],
    "DRF serializers (input validation and output)": [
        ("rest_framework/serializers.py", "is_valid"),
        ("rest_framework/serializers.py", "data"),
    ],
    "API key authentication": [("merchants/authentication.py", "authenticate")],
    "idempotency bookkeeping (claim, fingerprint, completion)": [
        ("merchants/idempotency.py", "_claim"),
        ("merchants/idempotency.py", "request_fingerprint"),
    ],
}


@dataclass
class Profile:
    checkouts: int
    profiled_seconds: float
    areas: dict[str, float] = field(default_factory=dict)  # seconds per checkout
    top: str = ""


def _cumulative(stats: pstats.Stats, targets: list[tuple[str, str]]) -> float:
    """Cumulative seconds in the targets; where one name has several definitions in a file
    (`Serializer.data` calling `BaseSerializer.data`) the outermost, largest, one counts."""
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = 0.0
    for path, name in targets:
        total += max(
            (
                timing[3]
                for (filename, _, function), timing in raw.items()
                if filename.endswith(path) and function == name
            ),
            default=0.0,
        )
    return total


def profile(scenario: Scenario, fixture: Fixture, *, checkouts: int) -> Profile:
    client = _client()
    checkout_in_process(scenario, fixture, client, 3_000_000)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for n in range(checkouts):
        checkout_in_process(scenario, fixture, client, 3_000_001 + n)
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(25)
    return Profile(
        checkouts=checkouts,
        profiled_seconds=elapsed / checkouts,
        areas={area: _cumulative(stats, targets) / checkouts for area, targets in _AREAS.items()},
        top=report.getvalue(),
    )
