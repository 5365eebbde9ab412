"""Offline evaluation on a time split: train on what happened before, test on what came after.

For each model: precision@k, recall@k and NDCG@k over every test customer ("all"), and over
the items new to each customer ("new": the customer's past purchases are excluded from the
ranking and from the truth). `dismissed_returned` counts how often an item the customer
dismissed (their top pick, in a second round) comes back: the recommenders must answer 0.
"""

import csv
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from insights.recommend import (
    Exclusions,
    Line,
    Scored,
    TifuKnn,
    popular,
    recommend_popular,
    recommend_repeat,
    repeat_vectors,
)

MODELS = ("popular", "repeat", "tifu_knn")


@dataclass(frozen=True)
class Dataset:
    lines: list[Line]
    categories: dict[str, str]


def dataset_read(path: Path) -> Dataset:
    """The history-import CSV as lines (bad rows skipped: the import reports them)."""
    return dataset_from_rows(csv.DictReader(path.open(newline="", encoding="utf-8")))


def dataset_from_rows(rows: Iterable[dict[str, Any]]) -> Dataset:
    lines, categories = [], {}
    for row in rows:
        try:
            occurred_at = datetime.fromisoformat(str(row["occurred_at"]))
            quantity = int(row["quantity"])
        except (KeyError, ValueError):
            continue
        if occurred_at.tzinfo is None or quantity < 1 or not row.get("sku"):
            continue
        lines.append(
            Line(
                customer=str(row["customer_ref"]),
                sku=str(row["sku"]),
                occurred_at=occurred_at,
                quantity=quantity,
                channel=str(row.get("channel") or ""),
            )
        )
        if row.get("category"):
            categories[str(row["sku"])] = str(row["category"])
    return Dataset(lines, categories)


def _metrics(ranked: list[str], truth: set[str], k: int) -> tuple[float, float, float]:
    hits = [1.0 if sku in truth else 0.0 for sku in ranked[:k]]
    dcg = sum(hit / math.log2(i + 2) for i, hit in enumerate(hits))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(truth), k)))
    return sum(hits) / k, sum(hits) / len(truth), dcg / ideal


def evaluate(
    dataset: Dataset,
    *,
    split_at: datetime,
    k: int = 10,
    customers: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Figures per model, `{"customers": n, "models": {name: {...}}}`."""
    train = [line for line in dataset.lines if line.occurred_at < split_at]
    truth: dict[str, set[str]] = defaultdict(set)
    for line in dataset.lines:
        if line.occurred_at >= split_at:
            truth[line.customer].add(line.sku)
    vectors = repeat_vectors(train, now=split_at)
    tested = sorted(customer for customer in truth if customer in vectors)
    if customers is not None and customers < len(tested):
        sampler = random.Random(seed)  # noqa: S311  (a reproducible sample, not a secret)
        tested = sorted(sampler.sample(tested, customers))
    ranking = popular(train)
    model = TifuKnn(vectors)
    cats = dataset.categories
    recommenders: dict[str, Callable[[str, Exclusions], list[Scored]]] = {
        "popular": lambda c, ex: recommend_popular(
            ranking, exclusions=ex, categories=cats, limit=k
        ),
        "repeat": lambda c, ex: recommend_repeat(
            vectors[c], exclusions=ex, categories=cats, limit=k
        ),
        "tifu_knn": lambda c, ex: model.recommend(c, exclusions=ex, categories=cats, limit=k),
    }
    figures = {}
    for name, recommend in recommenders.items():
        figures[name] = _model_figures(recommend, tested, truth, vectors, k)
    return {"customers": len(tested), "k": k, "split_at": split_at.isoformat(), "models": figures}


def _model_figures(
    recommend: Callable[[str, Exclusions], list[Scored]],
    tested: list[str],
    truth: dict[str, set[str]],
    vectors: dict[str, Any],
    k: int,
) -> dict[str, Any]:
    sums: dict[str, list[float]] = {"all": [0.0, 0.0, 0.0], "new": [0.0, 0.0, 0.0]}
    counted = {"all": 0, "new": 0}
    returned = 0
    for customer in tested:
        ranked = [item.sku for item in recommend(customer, Exclusions())]
        _add(sums["all"], _metrics(ranked, truth[customer], k))
        counted["all"] += 1
        new_truth = truth[customer] - set(vectors[customer])
        if new_truth:
            seen = Exclusions(skus=set(vectors[customer]))
            new_ranked = [item.sku for item in recommend(customer, seen)]
            _add(sums["new"], _metrics(new_ranked, new_truth, k))
            counted["new"] += 1
        if ranked:
            dismissed = Exclusions(skus={ranked[0]})
            again = [item.sku for item in recommend(customer, dismissed)]
            returned += ranked[0] in again
    result: dict[str, Any] = {"dismissed_returned": returned}
    for scope, (precision, recall, ndcg) in sums.items():
        n = max(counted[scope], 1)
        result[scope] = {
            f"precision@{k}": round(precision / n, 4),
            f"recall@{k}": round(recall / n, 4),
            f"ndcg@{k}": round(ndcg / n, 4),
            "customers": counted[scope],
        }
    return result


def _add(total: list[float], values: tuple[float, float, float]) -> None:
    for index, value in enumerate(values):
        total[index] += value


def report_lines(figures: dict[str, Any]) -> Iterator[str]:
    """A plain-text table of `evaluate`'s figures."""
    k = figures["k"]
    yield f"customers tested: {figures['customers']}, split at {figures['split_at']}, k={k}"
    yield f"{'model':<10} {'scope':<5} {'P@k':>7} {'R@k':>7} {'NDCG@k':>7}  dismissed_returned"
    for name, model in figures["models"].items():
        for scope in ("all", "new"):
            row = model[scope]
            yield (
                f"{name:<10} {scope:<5} {row[f'precision@{k}']:>7.4f} {row[f'recall@{k}']:>7.4f}"
                f" {row[f'ndcg@{k}']:>7.4f}  {model['dismissed_returned']}"
            )
