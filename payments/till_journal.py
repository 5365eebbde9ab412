"""The till's durable journal: store and forward, so a sale survives the server being away.

Every sale is written here first (SQLite in WAL mode, in the till's data folder) with its
Idempotency-Key, the exact request body and `occurred_at`, before it is sent. An entry the
server never saw stays `pending` and is replayed in order, exactly once (the server's
idempotency makes a replay after a crash harmless); an answer marks it `synced` or `refused`,
and nothing is ever deleted. The server's offline policy is cached here while online.

Like the client, it depends on the standard library only (no Django): it runs on the till.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    offline INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    outcome TEXT,
    payment_id TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
PENDING, SYNCED, REFUSED, NOT_ALLOWED = "pending", "synced", "refused", "refused_offline"


class OfflineRefused(Exception):
    """The offline policy forbids this sale while the server is away."""


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Entry:
    seq: int
    idempotency_key: str
    path: str
    body: dict[str, Any]
    occurred_at: str
    offline: bool
    status: str
    outcome: dict[str, Any] | None
    payment_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "idempotency_key": self.idempotency_key,
            "occurred_at": self.occurred_at,
            "offline": self.offline,
            "status": self.status,
            "amount": self.body.get("amount"),
            "methods": [t.get("method") for t in self.body.get("tenders", [])] or ["refund"],
            "payment": self.payment_id,
            "outcome": self.outcome,
        }


class Journal:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a recorded sale survives a power cut
        self.db.execute("PRAGMA secure_delete=ON")  # a redacted secret is overwritten
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- entries ----------------------------------------------------------------------------

    def record(self, *, path: str, body: dict[str, Any], key: str, occurred_at: str) -> Entry:
        self.db.execute(
            "INSERT INTO entries (idempotency_key, path, body, occurred_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, path, json.dumps(body), occurred_at, now_utc().isoformat()),
        )
        return self.get(key)

    def get(self, key: str) -> Entry:
        row = self.db.execute("SELECT * FROM entries WHERE idempotency_key = ?", (key,)).fetchone()
        return _entry(row)

    def entries(self, *, status: str | None = None, limit: int = 1000) -> list[Entry]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self.db.execute(
            f"SELECT * FROM entries {where} ORDER BY seq LIMIT ?",  # noqa: S608 (fixed text)
            (*params, limit),
        )
        return [_entry(row) for row in rows]

    def pending(self, *, before: int | None = None) -> Iterator[Entry]:
        """Pending entries in journal order (older than `before`), read one at a time."""
        seq, last = 0, before if before is not None else 2**62
        while True:
            row = self.db.execute(
                "SELECT * FROM entries WHERE status = ? AND seq > ? AND seq < ? "
                "ORDER BY seq LIMIT 1",
                (PENDING, seq, last),
            ).fetchone()
            if row is None:
                return
            entry = _entry(row)
            seq = entry.seq
            yield entry

    def go_offline(self, key: str, body: dict[str, Any]) -> Entry:
        """The server never saw this sale: it becomes an offline sale, to be replayed."""
        self.db.execute(
            "UPDATE entries SET body = ?, offline = 1, updated_at = ? WHERE idempotency_key = ?",
            (json.dumps(body), now_utc().isoformat(), key),
        )
        return self.get(key)

    def conclude(
        self, key: str, *, status: str, outcome: dict[str, Any], payment_id: str | None = None
    ) -> Entry:
        """The entry's answer. It is never sent again, so its secrets (gift card or voucher
        codes, PINs) need not stay on the till's disk."""
        body = _redacted(self.get(key).body)
        self.db.execute(
            "UPDATE entries SET status = ?, outcome = ?, payment_id = ?, body = ?, "
            "updated_at = ? WHERE idempotency_key = ?",
            (status, json.dumps(outcome), payment_id, json.dumps(body), now_utc().isoformat(), key),
        )
        return self.get(key)

    # -- cached state (offline policy, open session) ----------------------------------------

    def state(self, name: str) -> Any:
        row = self.db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return json.loads(row["value"]) if row else None

    def set_state(self, name: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO state (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )

    # -- the offline policy -----------------------------------------------------------------

    def check_offline(self, body: dict[str, Any], *, at: datetime) -> None:
        """Refuse (OfflineRefused) a sale the cached policy does not allow offline."""
        policy = self.state("offline_policy")
        if policy is None:
            raise OfflineRefused("No offline policy yet: the till must reach the server once.")
        currency = body["amount"]["currency"]
        allowance = _allowance(policy, currency)
        allowed = set(policy["methods"]) | ({GIFT_CARD} if allowance else set())
        used = {t.get("method", "") for t in body.get("tenders", [])}
        methods = sorted({GIFT_CARD if m == OFFLINE_GIFT_CARD else m for m in used} - allowed)
        if methods:
            raise OfflineRefused(
                f"Not allowed offline: {', '.join(methods)} (only {', '.join(sorted(allowed))})."
            )
        if any(line.get("kind", "item") != "item" for line in body.get("basket", [])):
            raise OfflineRefused("Gift cards are sold and reloaded online only.")
        caps = {**policy, **policy.get("currencies", {}).get(currency, {})}
        amount = Decimal(body["amount"]["amount"])
        if amount > Decimal(caps["max_sale"]):
            raise OfflineRefused(f"Over the offline cap per sale ({caps['max_sale']} {currency}).")
        unsynced = [e for e in self.entries(status=PENDING) if e.offline]
        same = [e for e in unsynced if e.body["amount"]["currency"] == currency]
        total = sum((Decimal(e.body["amount"]["amount"]) for e in same), Decimal(0))
        if total + amount > Decimal(caps["max_total"]):
            raise OfflineRefused(
                f"Over the till's offline total ({caps['max_total']} {currency}; "
                f"{total} not synced yet)."
            )
        oldest = min((datetime.fromisoformat(e.occurred_at) for e in unsynced), default=at)
        if at - oldest > timedelta(hours=int(policy["max_age_hours"])):
            raise OfflineRefused("Offline too long: sync with the server before selling more.")
        cards = _offline_cards(body)
        if cards and allowance is not None:
            taken = sum((_offline_cards(e.body) for e in same), Decimal(0))
            left = Decimal(allowance["remaining"]["amount"]) - taken
            if cards > left:
                raise OfflineRefused(
                    f"Over this till's offline gift card allowance ({left} {currency} left): "
                    "take another tender, or sync first."
                )


GIFT_CARD, OFFLINE_GIFT_CARD = "gift_card", "offline_gift_card"


def _allowance(policy: dict[str, Any], currency: str) -> dict[str, Any] | None:
    for allowance in policy.get("allowances", []):
        if allowance["amount"]["currency"] == currency:
            return dict(allowance)
    return None


def _offline_cards(body: dict[str, Any]) -> Decimal:
    """What a sale takes in gift cards offline (a card without an amount takes it all)."""
    total = Decimal(0)
    for tender in body.get("tenders", []):
        if tender.get("method") not in (GIFT_CARD, OFFLINE_GIFT_CARD):
            continue
        if "code" not in tender:
            raise OfflineRefused("Offline, a gift card is taken by its code and PIN only.")
        if "amount" not in tender and len(body["tenders"]) > 1:
            raise OfflineRefused("Offline, give the gift card's amount (CODE:PIN@AMOUNT).")
        total += Decimal(tender.get("amount", body["amount"])["amount"])
    return total


def offline_body(body: dict[str, Any]) -> dict[str, Any]:
    """The sale as it is replayed: marked offline, each gift card the offline method (the
    server debits what the card holds and records any shortfall), with its amount."""
    tenders = [
        {**t, "method": OFFLINE_GIFT_CARD, "amount": t.get("amount", body["amount"])}
        if t.get("method") == GIFT_CARD
        else t
        for t in body["tenders"]
    ]
    return {**body, "offline": True, "tenders": tenders}


def _redacted(body: dict[str, Any]) -> dict[str, Any]:
    """A code keeps its last four characters (to tell cards apart), a PIN nothing."""
    if "tenders" not in body:  # a refund: no secrets
        return body
    tenders = [
        {**t, **({"code": "…" + str(t["code"])[-4:]} if "code" in t else {})}
        for t in body["tenders"]
    ]
    for tender in tenders:
        if "pin" in tender:
            tender["pin"] = "****"
    return {**body, "tenders": tenders}


def _entry(row: sqlite3.Row) -> Entry:
    return Entry(
        seq=row["seq"],
        idempotency_key=row["idempotency_key"],
        path=row["path"],
        body=json.loads(row["body"]),
        occurred_at=row["occurred_at"],
        offline=bool(row["offline"]),
        status=row["status"],
        outcome=json.loads(row["outcome"]) if row["outcome"] else None,
        payment_id=row["payment_id"],
    )
