"""The recommenders, pure functions over purchase lines (no database), shared by the trainer
and `offers_evaluate` so that what is evaluated is what is served.

- `popular`: most customers bought it (the baseline everyone gets without consent);
- `repeat`: the customer's own purchases, each weighted by
  a recency decay (frequency times recency);
- `tifu`: TIFU-KNN (Hu et al., 2020): the customer's repeat vector blended with the mean
  vector of the k most similar customers (cosine), so items the neighbours repeat reach a
  customer who never bought them.

Dismissed items are never scored; dismissed categories are down-weighted.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

HALF_LIFE_DAYS = 60.0
NEIGHBOURS = 30
# Weight of the customer's own history against the neighbours' (TIFU-KNN's alpha).
ALPHA = 0.7
CATEGORY_DISMISSED_WEIGHT = 0.5

REASON_REPEAT = "bought_before"
REASON_NEIGHBOURS = "similar_customers"
REASON_POPULAR = "popular"


@dataclass(frozen=True)
class Line:
    customer: str
    sku: str
    occurred_at: datetime
    quantity: int = 1
    channel: str = ""


@dataclass
class Exclusions:
    """What a customer dismissed: SKUs never shown again, categories down-weighted."""

    skus: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Scored:
    sku: str
    score: float
    reason: str


def popular(lines: Iterable[Line], *, channel: str = "") -> list[tuple[str, float]]:
    """SKUs by how many distinct customers bought them (in `channel`, or all)."""
    buyers: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        if not channel or line.channel == channel:
            buyers[line.sku].add(line.customer)
    ranked = sorted(buyers.items(), key=lambda item: (-len(item[1]), item[0]))
    return [(sku, float(len(who))) for sku, who in ranked]


def repeat_vectors(lines: Iterable[Line], *, now: datetime) -> dict[str, Counter[str]]:
    """Per customer, per SKU: sum of quantity * 2^(-age / half-life), one term per purchase."""
    vectors: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        age = max((now - line.occurred_at).total_seconds() / 86400.0, 0.0)
        vectors[line.customer][line.sku] += line.quantity * 0.5 ** (age / HALF_LIFE_DAYS)
    return vectors


def _finish(
    scores: Mapping[str, float],
    reasons: Mapping[str, str],
    *,
    exclusions: Exclusions,
    categories: Mapping[str, str],
    limit: int,
) -> list[Scored]:
    kept = []
    for sku, score in scores.items():
        if sku in exclusions.skus or score <= 0:
            continue
        if categories.get(sku, "") in exclusions.categories:
            score *= CATEGORY_DISMISSED_WEIGHT
        kept.append(Scored(sku, float(score), reasons[sku]))
    kept.sort(key=lambda item: (-item.score, item.sku))
    return kept[:limit]


def recommend_popular(
    ranking: list[tuple[str, float]],
    *,
    exclusions: Exclusions,
    categories: Mapping[str, str],
    limit: int,
) -> list[Scored]:
    scores = dict(ranking)
    return _finish(
        scores,
        dict.fromkeys(scores, REASON_POPULAR),
        exclusions=exclusions,
        categories=categories,
        limit=limit,
    )


def recommend_repeat(
    vector: Mapping[str, float],
    *,
    exclusions: Exclusions,
    categories: Mapping[str, str],
    limit: int,
) -> list[Scored]:
    return _finish(
        vector,
        dict.fromkeys(vector, REASON_REPEAT),
        exclusions=exclusions,
        categories=categories,
        limit=limit,
    )


class TifuKnn:
    """Fitted on every customer's repeat vector; recommends for any of them."""

    def __init__(self, vectors: Mapping[str, Mapping[str, float]], *, k: int = NEIGHBOURS):
        self.customers = sorted(vectors)
        self.skus = sorted({sku for vector in vectors.values() for sku in vector})
        self.row = {customer: i for i, customer in enumerate(self.customers)}
        column = {sku: j for j, sku in enumerate(self.skus)}
        matrix = np.zeros((len(self.customers), len(self.skus)), dtype=np.float64)
        for customer, vector in vectors.items():
            for sku, value in vector.items():
                matrix[self.row[customer], column[sku]] = value
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.own = matrix / norms
        self.k = min(k, max(len(self.customers) - 1, 0))

    def scores(self, customer: str) -> tuple[np.ndarray, np.ndarray]:
        """(own part, neighbours' part) of the customer's scores, one value per SKU."""
        i = self.row[customer]
        own = self.own[i]
        if self.k == 0:
            return ALPHA * own, np.zeros_like(own)
        similarity = self.own @ own
        similarity[i] = -np.inf
        nearest = np.argpartition(-similarity, self.k - 1)[: self.k]
        return ALPHA * own, (1 - ALPHA) * self.own[nearest].mean(axis=0)

    def recommend(
        self,
        customer: str,
        *,
        exclusions: Exclusions,
        categories: Mapping[str, str],
        limit: int,
    ) -> list[Scored]:
        if customer not in self.row:
            return []
        own, neighbours = self.scores(customer)
        total = own + neighbours
        scores = {self.skus[j]: float(total[j]) for j in np.flatnonzero(total > 0)}
        reasons = {
            self.skus[j]: REASON_REPEAT if own[j] >= neighbours[j] else REASON_NEIGHBOURS
            for j in np.flatnonzero(total > 0)
        }
        return _finish(scores, reasons, exclusions=exclusions, categories=categories, limit=limit)
