"""A seeded purchase-history generator with known structure, for tests and the demo.

Customers belong to a type (family, health, pets, gourmet) that prefers some categories; each
has a few staples bought again and again and explores the rest of its type's categories, in a
store (channel `pos`) or on the web (a per-customer mix). So repeat purchases and similar
customers both carry signal, and popularity alone does not; `true_types` gives the truth.
"""

import csv
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

CATEGORIES = (
    "dairy",
    "bakery",
    "produce",
    "snacks",
    "drinks",
    "organic",
    "pet",
    "household",
    "wine",
    "cheese",
)
PRODUCTS_PER_CATEGORY = 12
TYPES: dict[str, dict[str, float]] = {
    "family": {"dairy": 3, "bakery": 3, "snacks": 3, "produce": 2, "household": 1},
    "health": {"organic": 4, "produce": 3, "drinks": 2, "dairy": 1},
    "pets": {"pet": 4, "household": 3, "snacks": 1, "drinks": 1},
    "gourmet": {"wine": 4, "cheese": 3, "bakery": 2, "organic": 1},
}
COLUMNS = (
    "customer_ref",
    "occurred_at",
    "sku",
    "quantity",
    "order_ref",
    "channel",
    "store",
    "product_name",
    "category",
    "unit_price",
    "currency",
)
START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 365


def catalogue() -> list[dict[str, Any]]:
    products = []
    for category in CATEGORIES:
        for index in range(PRODUCTS_PER_CATEGORY):
            products.append(
                {
                    "sku": f"{category[:3].upper()}-{index:03d}",
                    "product_name": f"{category.title()} item {index}",
                    "category": category,
                    "unit_price": Decimal(100 + 37 * index % 900) / 100,
                }
            )
    return products


def _pick(rng: random.Random, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Within a category, earlier items are more popular (Zipf-like)."""
    weights = [1.0 / (rank + 1) for rank in range(len(items))]
    return rng.choices(items, weights=weights)[0]


def history(
    *, customers: int = 300, seed: int = 7, start: datetime = START
) -> Iterator[dict[str, Any]]:
    """Purchase lines (the history-import columns), ordered by customer then time."""
    for _, row in _generate(customers=customers, seed=seed, start=start):
        yield row


def true_types(*, customers: int = 300, seed: int = 7) -> dict[str, str]:
    """customer_ref -> the type it was generated from (the truth learned segments are
    measured against)."""
    return {
        row["customer_ref"]: kind
        for kind, row in _generate(customers=customers, seed=seed, start=START)
    }


def _generate(
    *, customers: int, seed: int, start: datetime
) -> Iterator[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)  # noqa: S311  (reproducible data, not a secret)
    by_category: dict[str, list[dict[str, Any]]] = {c: [] for c in CATEGORIES}
    for product in catalogue():
        by_category[product["category"]].append(product)
    for number in range(customers):
        kind = rng.choice(sorted(TYPES))
        affinity = TYPES[kind]
        categories = list(affinity)
        weights = [affinity[c] for c in categories]
        staples = [
            _pick(rng, by_category[rng.choices(categories, weights=weights)[0]])
            for _ in range(rng.randint(4, 7))
        ]
        web_share = rng.choice((0.1, 0.5, 0.9))
        visits = rng.randint(8, 30)
        ref = f"C{number:05d}"
        for visit in sorted(rng.uniform(0, DAYS) for _ in range(visits)):
            at = start + timedelta(days=visit)
            channel = "web" if rng.random() < web_share else "pos"
            basket: dict[str, dict[str, Any]] = {}
            for _ in range(rng.randint(3, 7)):
                if rng.random() < 0.6:
                    product = rng.choice(staples)
                else:
                    category = rng.choices(categories, weights=weights)[0]
                    product = _pick(rng, by_category[category])
                basket[product["sku"]] = product
            for product in basket.values():
                yield (
                    kind,
                    {
                        "customer_ref": ref,
                        "occurred_at": at.isoformat(),
                        "sku": product["sku"],
                        "quantity": rng.randint(1, 3),
                        "order_ref": f"{ref}-{at:%Y%m%d%H%M%S}",
                        "channel": channel,
                        "store": "" if channel == "web" else "S1",
                        "product_name": product["product_name"],
                        "category": product["category"],
                        "unit_price": str(product["unit_price"]),
                        "currency": "EUR",
                    },
                )


def history_write(
    path: Path, *, customers: int = 300, seed: int = 7, start: datetime = START
) -> int:
    """Write a history-import CSV; the number of lines written."""
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in history(customers=customers, seed=seed, start=start):
            writer.writerow(row)
            written += 1
    return written
