"""The insights bench scripts end to end in seconds, each against a database of its own on
the test PostgreSQL server: they start, seed, serve or import, and print their tables. Speed
is not asserted; a refused request, or a second import adding lines, fails them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from bench.pgbench import Server, database_create, database_drop

ROOT = Path(__file__).resolve().parent.parent.parent
DATABASE = "kassa_insights_bench_smoke"

pytestmark = pytest.mark.slow


def _database_url(db: dict) -> str:
    host = db["HOST"]
    if host.startswith("/"):
        return f"postgres://{db['USER']}@/{DATABASE}?host={host}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{db['PORT'] or 5432}/{DATABASE}"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("bench/offers.py", ["| offers |", "| reference |", "target p99 < 50 ms"]),
        ("bench/history_import.py", ["| first |", "| second |", "second import added nothing"]),
    ],
)
def test_the_bench_script_runs_end_to_end(
    django_db_setup, tmp_path: Path, script: str, expected: list[str]
) -> None:
    db = settings.DATABASES["default"]
    server = Server.from_django(db)
    database_create(server, DATABASE)
    try:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "STRIPE_API_BASE"}
        }
        env["DATABASE_URL"] = _database_url(db)
        finished = subprocess.run(
            [sys.executable, script, "--smoke", "--results", str(tmp_path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        database_drop(server, DATABASE)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    for text in expected:
        assert text in finished.stdout
