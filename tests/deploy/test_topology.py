"""The race and idempotency scenarios through HAProxy across two app servers, an app server
killed mid-run, recovery on the Celery worker, a redelivered task, and health-based routing."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import httpx
import psutil
import pytest
from celery import Celery

from config.embedded import BASE_DIR
from deploy.topology import Topology
from tests.deploy.conftest import sql

pytestmark = pytest.mark.slow
T = TypeVar("T")
EUR = "EUR"


def race(count: int, work: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(count)
    results: list[T] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        result = work(index)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def post(topology: Topology, key: str, body: dict, idempotency_key: str | None = None):
    return httpx.post(
        f"{topology.url}/api/v1/payments",
        json=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": idempotency_key or str(uuid.uuid4()),
        },
        timeout=60,
    )


def requests_per_server(topology: Topology) -> dict[str, int]:
    return {name: int(row["stot"]) for name, row in topology.server_states().items()}


def test_fifty_racing_sales_on_a_twenty_euro_card_sell_exactly_twenty(topology, data) -> None:
    before = requests_per_server(topology)
    sale = {
        "amount": {"amount": "1.00", "currency": EUR},
        "tenders": [{"method": "gift_card", "code": data["gift_card_code"], "pin": "4321"}],
        "capture": True,
    }
    responses = race(50, lambda i: post(topology, data["till_key"], sale))
    statuses = [r.status_code for r in responses]
    assert 503 not in statuses, [r.text for r in responses if r.status_code == 503]
    assert Counter(statuses) == {201: 20, 402: 30}
    after = requests_per_server(topology)
    assert all(after[name] - before[name] >= 10 for name in before), (before, after)
    [(balance,)] = sql(
        topology,
        "SELECT a.credits_posted - a.debits_posted - a.debits_pending "
        "FROM wallet_ledgeraccount a JOIN wallet_giftcard g "
        "ON g.account_id = a.id WHERE g.public_id = %s",
        uuid.UUID(data["gift_card"]),
    )
    assert balance == 0


def test_ten_duplicates_of_one_key_across_servers_make_one_payment(topology, data) -> None:
    key = str(uuid.uuid4())
    body = {
        "amount": {"amount": "5.00", "currency": EUR},
        "tenders": [{"method": "cash"}],
        "capture": True,
        "external_reference": key,
    }
    responses = race(10, lambda i: post(topology, data["till_key"], body, idempotency_key=key))
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == 1
    [(count,)] = sql(
        topology, "SELECT count(*) FROM payments_payment WHERE external_reference = %s", key
    )
    assert count == 1


def test_a_server_failing_its_health_check_gets_no_requests(topology) -> None:
    drained, other = topology.app_servers
    drained.drain_file.touch()
    try:
        topology.wait_for_servers({drained.name: "DOWN", other.name: "UP"})
        before = requests_per_server(topology)
        for _ in range(10):
            assert httpx.get(f"{topology.url}/healthz").status_code == 200
        after = requests_per_server(topology)
        assert after[drained.name] == before[drained.name]
        assert after[other.name] - before[other.name] == 10
    finally:
        drained.drain_file.unlink()
    topology.wait_for_servers({drained.name: "UP"})


def _stuck(topology: Topology) -> int:
    [(count,)] = sql(
        topology,
        "SELECT count(*) FROM payments_payment "
        "WHERE status IN ('authorizing', 'capturing', 'voiding')",
    )
    return count


def test_a_killed_app_server_leaves_traffic_to_the_other_and_the_worker_recovers(
    topology, data
) -> None:
    """Stripe is paused so every card sale waits inside its Stripe call; app1 dies with its
    sales half-way; the rest is served by app2; the recovery task, delivered twice with one
    id, finishes each stuck payment once."""
    stripe = psutil.Process(topology.localstripe.process.pid)
    card_sale = {
        "amount": {"amount": "12.00", "currency": EUR},
        "customer": data["customer"],
        "tenders": [{"method": "card", "bank_card": data["bank_card"]}],
        "capture": True,
    }
    stripe.suspend()
    results: list[int] = []
    senders = [
        threading.Thread(
            target=lambda: results.append(post(topology, data["web_key"], card_sale).status_code)
        )
        for _ in range(6)
    ]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 30
    while _stuck(topology) < 6:
        assert time.monotonic() < deadline, "the card sales never reached Stripe"
        time.sleep(0.1)
    app1 = topology.app_servers[0]
    os.killpg(app1.process.pid, signal.SIGKILL)
    app1.process.wait()
    stripe.resume()
    for sender in senders:
        sender.join(90)
    topology.wait_for_servers({"app1": "DOWN", "app2": "UP"})

    cash = {"amount": {"amount": "3.00", "currency": EUR}, "tenders": [{"method": "cash"}]}
    after = [post(topology, data["till_key"], cash | {"capture": True}) for _ in range(10)]
    assert [r.status_code for r in after] == [201] * 10, "HAProxy sends everything to app2"

    stuck = _stuck(topology)
    assert stuck >= 1, f"app1's sales were left half-way (answers {results})"
    sql(
        topology,
        "UPDATE payments_payment SET updated_at = now() - interval '1 hour' "
        "WHERE status IN ('authorizing', 'capturing', 'voiding')",
    )
    worker = Celery(broker=topology.broker_url)
    task_id = str(uuid.uuid4())
    for _ in range(2):  # a redelivery: the same task, the same id, twice
        worker.send_task("payments.recover_stuck", task_id=task_id, queue=topology.queue)
    deadline = time.monotonic() + 60
    while _stuck(topology):
        assert time.monotonic() < deadline, "the worker never recovered the stuck payments"
        time.sleep(0.5)
    finished = sql(
        topology,
        "SELECT payment_id, type, count(*) FROM payments_paymentevent "
        "WHERE actor LIKE 'system:%%' GROUP BY payment_id, type HAVING count(*) > 1",
    )
    assert finished == [], "each recovery step happened once"
    ledger = topology_manage(topology, "ledger_check")
    assert ledger.returncode == 0, ledger.stderr


def topology_manage(topology: Topology, *args: str):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=topology.env,
        capture_output=True,
        text=True,
    )


def test_readyz_names_the_database_when_pgbouncer_is_gone(topology) -> None:
    server = next(s for s in topology.app_servers if s.process.poll() is None)
    assert httpx.get(f"{server.url}/readyz").json()["failing"] == []
    bouncer = topology.processes[0]
    os.killpg(bouncer.pid, signal.SIGTERM)
    bouncer.wait(10)
    response = httpx.get(f"{server.url}/readyz", timeout=30)
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
