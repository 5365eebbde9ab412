"""The payments shop (a customer holding every instrument) and helpers for privacy tests."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from rest_framework.test import APIClient

from merchants.models import ApiKey, Merchant
from merchants.services import api_key_issue
from tests.payments.conftest import invariants, shop  # noqa: F401  (fixtures)
from wallet.models import Entry, LedgerAccount


def post(client: APIClient, path: str, body: dict, key: str | None = None):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


@pytest.fixture
def staff(merchant: Merchant) -> APIClient:
    _, raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.STAFF, name="back office")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def trial_balance() -> dict[tuple[str, str], Decimal]:
    """Posted balance (credits - debits) per (unit, account kind), from the entries."""
    rows = (
        Entry.objects.filter(layer=Entry.Layer.POSTED)
        .values("account__unit", "account__kind", "side")
        .annotate(total=Sum("amount"))
    )
    balance: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = (row["account__unit"], row["account__kind"])
        sign = 1 if row["side"] == Entry.Side.CREDIT else -1
        balance[key] = balance.get(key, Decimal(0)) + sign * row["total"]
    return balance


def value_per_unit(balance: dict[tuple[str, str], Decimal]) -> dict[str, Decimal]:
    """What customers hold plus what went to breakage, per unit: an erasure moves value between
    the two, never creates or destroys it."""
    kinds = {LedgerAccount.Kind.GIFT_CARD, LedgerAccount.Kind.LOYALTY, LedgerAccount.Kind.BREAKAGE}
    totals: dict[str, Decimal] = {}
    for (unit, kind), amount in balance.items():
        if kind in kinds:
            totals[unit] = totals.get(unit, Decimal(0)) + amount
    return totals


def scan_database(needles: list[str]) -> tuple[dict[str, list[str]], int, int]:
    """Every text, varchar and json column of every table, as text, for each needle.

    Returns (hits as {"table.column": [needles]}, tables scanned, columns scanned)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t
              ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY')
            """
        )
        columns = cursor.fetchall()
        hits: dict[str, list[str]] = {}
        for table, column in columns:
            for needle in needles:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608
                    [f"%{needle}%"],
                )
                if cursor.fetchone()[0]:
                    hits.setdefault(f"{table}.{column}", []).append(needle)
    return hits, len({table for table, _ in columns}), len(columns)
