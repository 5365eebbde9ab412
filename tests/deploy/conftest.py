"""One topology for the module: PostgreSQL + replica, PgBouncer, two app servers behind
HAProxy, a Celery worker and beat on this machine's broker. Missing packages fail, never skip."""

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from config.embedded import BASE_DIR
from deploy.topology import Topology, require_binary, start_topology


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    require_binary("pgbouncer")  # raises with the apt-get hint: CI installs them (.ci/run)
    require_binary("haproxy")
    # Not pytest's tmp_path: it is private to root (0700), and the embedded PostgreSQL,
    # PgBouncer and the replica run as another user who must reach their folders.
    state_dir = Path(tempfile.mkdtemp(prefix="kassa-topology-"))
    state_dir.chmod(0o755)
    stack = start_topology(state_dir, web_workers=2)
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def data(topology: Topology) -> dict[str, str]:
    made = subprocess.run(
        [sys.executable, "-m", "tests.deploy.make_data"],
        cwd=BASE_DIR,
        env=topology.env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(made.stdout.strip().splitlines()[-1])


def sql(topology: Topology, query: str, *params: object) -> list[tuple]:
    """A statement on the primary itself (not through PgBouncer): the test's own view."""
    url = topology.direct_database_url.replace("postgres://", "postgresql://")
    with psycopg.connect(url) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []
