"""The measuring half of `bench/run.py`, imported once Django is set up with bench.settings."""

import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from django.core.management import call_command
from django.db import connection

from bench import inprocess, report
from bench.cpu import CpuMeter, CpuSample
from bench.driver import drive
from bench.pgbench import TPCB_STATEMENTS, Server, database_create, pgbench_init, pgbench_run
from bench.scenarios import REFERENCE_R2, SCENARIOS, TILL_SALE, Scenario, checkout_over_http
from bench.seed import Fixture, seed

PGBENCH_DATABASE_SUFFIX = "_pgbench"


def prepare() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)


def seed_fixture(*, clients: int, customers: int) -> Fixture:
    fixture = seed(clients=clients, customers=customers)
    connection.close()  # the served app must not share anything with this process
    return fixture


def wait_healthy(base_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url}/healthz did not answer 200 within {timeout}s")
        time.sleep(0.2)


def postgres_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
        cursor.execute("SHOW synchronous_commit")
        (synchronous,) = cursor.fetchone()
        cursor.execute("SHOW shared_buffers")
        (buffers,) = cursor.fetchone()
    return f"{version} (synchronous_commit={synchronous}, shared_buffers={buffers})"


@dataclass
class Bench:
    base_url: str
    fixture: Fixture
    roots: dict[str, int]
    clients: int
    seconds: float
    warmup: float
    statements: dict[str, inprocess.Statements] = field(default_factory=dict)
    _pgbench_database: str | None = None

    def _per_checkout(self, usage: CpuSample, checkouts: int, window: float) -> tuple[dict, float]:
        per = {name: 1000 * seconds / checkouts for name, seconds in usage.groups.items()}
        busy = usage.machine / (window * len(os.sched_getaffinity(0)))
        return per, busy

    def r1(self) -> report.Row:
        server = Server.from_django(connection.settings_dict)
        database = f"{connection.settings_dict['NAME']}{PGBENCH_DATABASE_SUFFIX}"
        database_create(server, database)
        self._pgbench_database = database
        pgbench_init(server, database, scale=self.clients)
        meter = CpuMeter({k: v for k, v in self.roots.items() if k == "postgres"})
        before = meter.sample()
        window = time.perf_counter()
        run = pgbench_run(server, database, clients=self.clients, seconds=round(self.seconds))
        window = time.perf_counter() - window
        usage = CpuMeter.delta(before, meter.sample())
        usage.groups["driver"] = run.client_cpu_seconds  # pgbench is R1's load generator
        row = report.Row(
            "R1",
            f"pgbench TPC-B (built-in script), {self.clients} clients, same server",
            run.result,
            statements=TPCB_STATEMENTS,
            transactions=1,
        )
        if row.result.completed:
            row.cpu_ms, row.machine_busy = self._per_checkout(usage, row.result.completed, window)
        return row

    def http(self, scenario: Scenario) -> report.Row:
        meter = CpuMeter(self.roots)
        samples: dict[str, CpuSample] = {}
        moments: dict[str, float] = {}

        def mark(edge: str) -> None:
            samples[edge] = meter.sample()
            moments[edge] = time.perf_counter()

        result = drive(
            self.base_url,
            checkout_over_http(scenario, self.fixture),
            clients=self.clients,
            seconds=self.seconds,
            warmup=self.warmup,
            mark=mark,
        )
        row = report.Row(scenario.name, scenario.title, result, scenario.expected_errors)
        if result.completed and "end" in samples:
            usage = CpuMeter.delta(samples["start"], samples["end"])
            row.cpu_ms, row.machine_busy = self._per_checkout(
                usage, result.completed, moments["end"] - moments["start"]
            )
        captured = inprocess.statements_per_checkout(scenario, self.fixture)
        self.statements[scenario.name] = captured
        row.statements, row.transactions = captured.count, captured.transactions
        return row

    def run_all(self, names: list[str]) -> list[report.Row]:
        by_name = {s.name: s for s in [REFERENCE_R2, *SCENARIOS]}
        rows = []
        for name in names:
            print(f"running {name} ...", flush=True)
            rows.append(self.r1() if name == "R1" else self.http(by_name[name]))
        return rows

    def cleanup(self) -> None:
        if self._pgbench_database is not None:
            from bench.pgbench import database_drop

            connection.close()
            database_drop(Server.from_django(connection.settings_dict), self._pgbench_database)


def profile_s1(fixture: Fixture, *, checkouts: int) -> tuple[inprocess.Split, inprocess.Profile]:
    split = inprocess.time_split(TILL_SALE, fixture, checkouts=checkouts)
    profile = inprocess.profile(TILL_SALE, fixture, checkouts=checkouts)
    return split, profile


def _split_text(split: inprocess.Split, profile: inprocess.Profile) -> str:
    def share(seconds: float) -> str:
        return f"{1000 * seconds:7.2f} ms  {100 * seconds / split.total:5.1f}%"

    lines = [
        f"One S1 checkout in process ({split.checkouts} checkouts, no profiler, "
        f"{split.statements} statements each):",
        f"  total                      {share(split.total)}",
        f"  SQL round trips            {share(split.sql)}",
        f"  (de)serialisation          {share(split.serialisation)}",
        f"  Python (Django, DRF, ORM, engine) {1000 * split.python:7.2f} ms  "
        f"{100 * split.python / split.total:5.1f}%",
        f"Under cProfile ({profile.profiled_seconds * 1000:.1f} ms per checkout; cumulative, "
        "areas overlap):",
    ]
    for area, seconds in sorted(profile.areas.items(), key=lambda item: -item[1]):
        lines.append(
            f"  {1000 * seconds:7.2f} ms  {100 * seconds / profile.profiled_seconds:5.1f}%  {area}"
        )
    return "\n".join(lines)


def render(
    rows: list[report.Row],
    *,
    machine: dict[str, Any],
    args: dict[str, Any],
    split: inprocess.Split,
    profile: inprocess.Profile,
    statements: dict[str, inprocess.Statements],
) -> str:
    by_name = {row.name: row for row in rows}
    parts = [
        "",
        "Kassa checkout benchmark",
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; "
        f"Linux {machine['kernel']}; Python {machine['python']}, Django {machine['django']}, "
        f"DRF {machine['drf']}",
        f"PostgreSQL {machine['postgres']}; gunicorn {machine['gunicorn_workers']} sync workers; "
        f"{args['clients']} clients; {args['seconds']:.0f} s measured after "
        f"{args['warmup']:.0f} s warm-up per run",
        "",
        report.titles(rows),
        "",
        report.figures_table(rows),
    ]
    if "R1" in by_name and "R2" in by_name:
        parts += [
            "",
            "Ratios to the references:",
            report.ratios_table(rows, by_name["R1"], by_name["R2"]),
        ]
    if "S1" in by_name and "R2" in by_name:
        parts += ["", report.target_verdict(by_name["S1"], by_name["R2"])]
    parts += [
        "",
        "CPU per checkout by process group; capacity = cores / total CPU per checkout; busy =",
        "share of all cores in use during the window, others = the part not ours (other jobs):",
        report.cpu_table(rows, machine["cores"], by_name.get("R2")),
        "",
        "Refusals: " + report.error_details(rows),
    ]
    if "S1" in statements:
        kinds = statements["S1"].by_kind()
        parts += [
            "",
            "S1 statements by kind: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda i: -i[1])),
        ]
    parts += ["", _split_text(split, profile), ""]
    return "\n".join(parts)


def as_json(
    rows: list[report.Row],
    machine: dict[str, Any],
    split: inprocess.Split,
    profile: inprocess.Profile,
) -> dict[str, Any]:
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else round(value, 3)

    return {
        "machine": machine,
        "runs": [
            {
                "name": row.name,
                "title": row.title,
                "checkouts": row.result.completed,
                "throughput": clean(row.throughput),
                "median_ms": clean(row.median_ms),
                "p99_ms": clean(row.p99_ms),
                "errors": row.errors,
                "expected_errors": row.expected,
                "error_codes": dict(row.result.errors),
                "statements": row.statements,
                "transactions": row.transactions,
                "cpu_ms_per_checkout": {k: round(v, 3) for k, v in row.cpu_ms.items()},
                "machine_busy": clean(row.machine_busy),
            }
            for row in rows
        ],
        "s1_split_ms": {
            key: round(1000 * value, 3)
            for key, value in {
                "total": split.total,
                "sql": split.sql,
                "serialisation": split.serialisation,
                "python": split.python,
            }.items()
        },
        "s1_profile": {**asdict(profile), "top": None},
    }
