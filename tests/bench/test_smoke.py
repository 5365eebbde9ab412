"""`make bench` end to end in seconds: every run for about a second, 2 clients, against a
database of its own on the test PostgreSQL server. It proves the bench starts, seeds, serves,
drives every scenario without a refusal, counts statements, profiles and prints its tables;
it never judges a figure (speed is not asserted)."""

import json

import pytest

from tests.bench.scratch import bench_run

SMOKE_DATABASE = "kassa_bench_smoke"

pytestmark = pytest.mark.slow


def test_bench_runs_every_scenario_end_to_end(django_db_setup, tmp_path) -> None:
    finished = bench_run("bench/run.py", database=SMOKE_DATABASE, results=tmp_path)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]

    figures = json.loads((tmp_path / "figures.json").read_text())
    runs = {run["name"]: run for run in figures["runs"]}
    assert list(runs) == ["R1", "R2", "S1", "S1b", "S2", "S3"]
    for name, run in runs.items():
        assert run["checkouts"] > 0, name
        assert run["errors"] == 0, (name, run["error_codes"])
        assert run["statements"] > 0, name
    assert runs["R1"]["statements"] == 7
    assert runs["R2"]["statements"] == 7, "BEGIN, lock, 2 updates, 2 inserts, COMMIT"
    assert figures["s1_split_ms"]["sql"] > 0
    assert "Ratios to the references" in finished.stdout
    assert "Target for S1" in finished.stdout
    sql = (tmp_path / "sql-S1.txt").read_text()
    assert "SELECT kassa_pos_sale(" in sql, "S1 takes the till's one-call sale"
