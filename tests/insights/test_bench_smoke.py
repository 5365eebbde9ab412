"""The insights bench scripts end to end in seconds, each against a database of its own on
the test PostgreSQL server: they start, seed, serve or import, and print their tables. Speed
is not asserted; a refused request, or a second import adding lines, fails them."""

from pathlib import Path

import pytest

from tests.bench.scratch import bench_run

DATABASE = "kassa_insights_bench_smoke"

pytestmark = pytest.mark.slow


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
    finished = bench_run(script, database=DATABASE, results=tmp_path)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    for text in expected:
        assert text in finished.stdout
