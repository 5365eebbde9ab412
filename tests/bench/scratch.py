"""Running a bench script as the operator does: in a child process, against a scratch database
of its own on the test PostgreSQL server, dropped afterwards whatever happens."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from bench.pgbench import Server, database_create, database_drop

ROOT = Path(__file__).resolve().parent.parent.parent
# The child configures itself from DATABASE_URL, never from the test run's settings.
HIDDEN = {"DJANGO_SETTINGS_MODULE", "STRIPE_API_BASE"}


def database_url(db: dict, name: str) -> str:
    """The URL of database `name` on the server of the Django connection settings `db`."""
    host = db["HOST"]
    if host.startswith("/"):
        return f"postgres://{db['USER']}@/{name}?host={host}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{db['PORT'] or 5432}/{name}"


def bench_run(script: str, *, database: str, results: Path) -> subprocess.CompletedProcess[str]:
    """`script --smoke --results <results>` against a fresh database `database`."""
    db = settings.DATABASES["default"]
    server = Server.from_django(db)
    database_create(server, database)
    try:
        env = {key: value for key, value in os.environ.items() if key not in HIDDEN}
        env["DATABASE_URL"] = database_url(db, database)
        return subprocess.run(
            [sys.executable, script, "--smoke", "--results", str(results)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        database_drop(server, database)
