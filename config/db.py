"""Database settings for a pooled, replicated deployment, and the router for report reads.

Writes and the reads that decide money always go to `default`. Admin reports, exports and the
ledger check read a replica, but only where the code asks for it with `replica_reads()`: a
replica lags, so no read is moved there implicitly.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

REPLICA = "replica"

_replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "kassa_replica_reads", default=False
)


def database_settings(
    config: dict[str, Any], *, pgbouncer: bool, conn_max_age: int
) -> dict[str, Any]:
    """One DATABASES entry from django-environ's parse, tuned for PgBouncer when it is in front.

    Transaction pooling hands each transaction a different server connection, so nothing may
    outlive a transaction on it: no server-side cursors (a named cursor lives across
    statements), no prepared statements (psycopg prepares after 5 runs; PgBouncer before 1.21
    cannot route them) and no session-level SET or advisory locks (Kassa uses neither: locks are
    row locks, settings are `SET LOCAL`).
    """
    db = dict(config)
    options = dict(db.get("OPTIONS", {}))
    # `postgres://user@/db?host=/socket/dir` (the embedded server's form) names a socket directory.
    if "host" in options:
        db["HOST"] = options.pop("host")
    if pgbouncer:
        db["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None
    db["OPTIONS"] = options
    db["ATOMIC_REQUESTS"] = False
    # Kept across requests: a connection to PgBouncer is cheap, one to PostgreSQL is not.
    db["CONN_MAX_AGE"] = conn_max_age
    db["CONN_HEALTH_CHECKS"] = True
    return db


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Route the reads inside this block to the `replica` alias (reports, exports, checks)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """Reads go to `replica` inside `replica_reads()`, everything else to `default`."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        from django.conf import settings

        # Without DATABASE_REPLICA_URL there is no replica alias: reports read the primary.
        return REPLICA if _replica_reads.get() and REPLICA in settings.DATABASES else None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both aliases hold the same rows (a replica, or the primary itself).
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPLICA
