"""Offline evaluation on synthetic data: the model beats popularity; dismissals stay out."""

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from insights.evaluation import dataset_from_rows, evaluate
from insights.synthetic import history, history_write

SPLIT = datetime(2025, 10, 1, tzinfo=UTC)


def test_the_model_beats_popularity_on_ndcg_and_dismissed_items_never_return() -> None:
    figures = evaluate(dataset_from_rows(history(customers=150, seed=11)), split_at=SPLIT, k=10)
    models = figures["models"]
    assert figures["customers"] > 100
    assert models["tifu_knn"]["all"]["ndcg@10"] > models["popular"]["all"]["ndcg@10"]
    assert models["tifu_knn"]["all"]["ndcg@10"] >= models["repeat"]["all"]["ndcg@10"]
    assert models["tifu_knn"]["new"]["ndcg@10"] > models["popular"]["new"]["ndcg@10"]
    assert all(model["dismissed_returned"] == 0 for model in models.values())


def test_the_synthetic_generator_is_seeded() -> None:
    assert list(history(customers=3, seed=5)) == list(history(customers=3, seed=5))
    assert list(history(customers=3, seed=5)) != list(history(customers=3, seed=6))
    channels = {row["channel"] for row in history(customers=30, seed=5)}
    assert channels == {"web", "pos"}


def test_the_command_reads_a_history_file(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    history_write(path, customers=60, seed=2)
    out = StringIO()
    call_command(
        "offers_evaluate",
        "--history",
        str(path),
        "--split-at",
        "2025-10-01",
        "--k",
        "10",
        "--customers",
        "30",
        "--seed",
        "1",
        "--json",
        stdout=out,
    )
    figures = json.loads(out.getvalue())
    assert figures["customers"] == 30
    assert set(figures["models"]) == {"popular", "repeat", "tifu_knn"}
    text = StringIO()
    call_command("offers_evaluate", "--synthetic", "40", "--split-at", "2025-10-01", stdout=text)
    assert "tifu_knn" in text.getvalue()
