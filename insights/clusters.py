"""Learned segments: k-means on each customer's profile features, pure (no database) so the
trainer and the check against the synthetic data's true types run the same code.

Features: the share of the customer's items in each category (summing to 1), and the share of
their orders in each channel at a quarter of that weight (at a half, the silhouette splits
small sets by channel rather than by taste). The number of clusters is the one with the best
silhouette among `K_RANGE`, unless given.

Bounded in memory and time whatever the merchant's size: k-means is fitted on a seeded sample
of at most `limits.MAX_CLUSTER_CUSTOMERS` customers and every customer is then given the
nearest centre; the silhouette (an n x n distance matrix per candidate k) is scored on a seeded
sample of at most `SILHOUETTE_SAMPLE` of them.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from config import limits

K_RANGE = range(2, 9)
CHANNEL_WEIGHT = 0.25
SEED = 0
SILHOUETTE_SAMPLE = 5000


@dataclass(frozen=True)
class Bought:
    customer: str
    category: str
    channel: str
    order: str
    quantity: int = 1


@dataclass(frozen=True)
class Clusters:
    labels: dict[str, int]  # customer -> cluster number, 0-based
    describe: dict[int, str]  # cluster number -> what its members mostly buy, and where
    silhouette: float


def features(
    rows: Iterable[Bought],
) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """(customers, matrix, categories, channels): one row of shares per customer."""
    items: dict[str, Counter[str]] = defaultdict(Counter)
    orders: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        if row.category:
            items[row.customer][row.category] += row.quantity
        orders[row.customer][row.order] = row.channel or "unknown"
    customers = sorted(customer for customer in orders if items[customer])
    categories = sorted({name for counts in items.values() for name in counts})
    channels = sorted({channel for by_order in orders.values() for channel in by_order.values()})
    matrix = np.zeros((len(customers), len(categories) + len(channels)))
    for i, customer in enumerate(customers):
        total = sum(items[customer].values())
        for j, name in enumerate(categories):
            matrix[i, j] = items[customer][name] / total
        by_channel = Counter(orders[customer].values())
        for j, channel in enumerate(channels):
            matrix[i, len(categories) + j] = (
                CHANNEL_WEIGHT * by_channel[channel] / len(orders[customer])
            )
    return customers, matrix, categories, channels


def clusters_learn(rows: Iterable[Bought], *, k: int | None = None) -> Clusters:
    """k-means with k given, or chosen by silhouette; empty when there are too few customers."""
    customers, matrix, categories, channels = features(rows)
    fitted = matrix
    if len(customers) > limits.MAX_CLUSTER_CUSTOMERS:
        chosen = np.random.default_rng(SEED).choice(
            len(customers), size=limits.MAX_CLUSTER_CUSTOMERS, replace=False
        )
        fitted = matrix[np.sort(chosen)]
    candidates = [k] if k else [n for n in K_RANGE if n < len(fitted)]
    best: tuple[float, KMeans] | None = None
    for n in candidates:
        if n < 2 or n >= len(fitted):
            continue
        model = KMeans(n_clusters=n, n_init=10, random_state=SEED).fit(fitted)
        score = float(
            silhouette_score(
                fitted,
                model.labels_,
                sample_size=min(len(fitted), SILHOUETTE_SAMPLE),
                random_state=SEED,
            )
        )
        if best is None or score > best[0]:
            best = (score, model)
    if best is None:
        return Clusters(labels={}, describe={}, silhouette=0.0)
    score, model = best
    labels = model.labels_ if fitted is matrix else model.predict(matrix)
    centres = model.cluster_centers_
    return Clusters(
        labels={customer: int(label) for customer, label in zip(customers, labels, strict=True)},
        describe={
            number: _describe(centre, categories, channels) for number, centre in enumerate(centres)
        },
        silhouette=round(score, 4),
    )


def _describe(centre: np.ndarray, categories: list[str], channels: list[str]) -> str:
    shares = centre[: len(categories)]
    top = [categories[j] for j in np.argsort(-shares)[:3] if shares[j] > 0]
    mix = centre[len(categories) :] / CHANNEL_WEIGHT
    where = ", ".join(
        f"{channel} {round(100 * share)}%"
        for channel, share in sorted(zip(channels, mix, strict=True), key=lambda cs: -cs[1])
        if share >= 0.005
    )
    return f"mostly {', '.join(top)}; orders {where}"


def adjusted_rand(truth: Mapping[str, str], labels: Mapping[str, int]) -> float:
    """Agreement of the learned clusters with known types, on the customers both know."""
    from sklearn.metrics import adjusted_rand_score

    common = sorted(set(truth) & set(labels))
    return float(adjusted_rand_score([truth[c] for c in common], [labels[c] for c in common]))
