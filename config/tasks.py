"""Operational tasks: the heartbeat that measures queue lag, and the scheduled ledger check.

Both leave their last result in the shared cache, where `/metrics` reads it: the web process
never waits on a worker to answer a scrape.
"""

import time
from typing import Any

from celery import Task, shared_task
from django.core.cache import cache

from config.db import replica_reads
from config.observability import SENT_AT_HEADER

HEARTBEAT_KEY = "kassa:ops:heartbeat"
LEDGER_CHECK_KEY = "kassa:ops:ledger-check"
# Results outlive a few missed runs, then vanish, so a dead beat shows as missing data.
_TTL_SECONDS = 3 * 3600


@shared_task(name="config.heartbeat", bind=True, ignore_result=True)
def heartbeat(self: Task) -> dict[str, float]:
    """Beat sends this every 30 s; the gap between sending and running is the queue lag."""
    now = time.time()
    sent_at = getattr(self.request, SENT_AT_HEADER, None)
    lag = max(0.0, now - float(sent_at)) if isinstance(sent_at, int | float) else 0.0
    result = {"lag_seconds": lag, "at": now}
    cache.set(HEARTBEAT_KEY, result, _TTL_SECONDS)
    return result


@shared_task(name="config.ledger_check", ignore_result=True)
def ledger_check() -> dict[str, Any]:
    """Recompute every ledger balance on the replica (the primary without one); same work as
    `manage.py ledger_check`. Running it twice only repeats a read."""
    from wallet.ledger import ledger_verify

    with replica_reads():
        problems = ledger_verify()
    result = {"ok": not problems, "problems": len(problems), "at": time.time()}
    cache.set(LEDGER_CHECK_KEY, result, _TTL_SECONDS)
    return result
