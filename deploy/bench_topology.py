"""Till sales per second through HAProxy (all app servers) against one app server directly,
in one run on one topology: `python -m deploy.bench_topology [--clients 8] [--seconds 15]`.

A sale is what a till sends most: 2.00 EUR, 1.00 from a gift card by code and PIN and the rest
in cash, captured at once. Each client has its own gift card, so the figure is the stack's, not
one card's row lock.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from config.embedded import BASE_DIR
from deploy.topology import Topology, start_topology


def _sales(base_url: str, key: str, codes: list[str], seconds: float) -> tuple[int, int]:
    """(captured sales, other answers) from one client per code, for `seconds`."""
    counts = [0, 0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(code: str) -> None:
        sale = {
            "amount": {"amount": "2.00", "currency": "EUR"},
            "tenders": [
                {
                    "method": "gift_card",
                    "code": code,
                    "pin": "4321",
                    "amount": {"amount": "1.00", "currency": "EUR"},
                },
                {"method": "cash"},
            ],
            "capture": True,
        }
        with httpx.Client(base_url=base_url, timeout=60) as http:
            while time.monotonic() < stop_at:
                answer = http.post(
                    "/api/v1/payments",
                    json=sale,
                    headers={
                        "Authorization": f"Bearer {key}",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                )
                with lock:
                    counts[0 if answer.status_code == 201 else 1] += 1

    threads = [threading.Thread(target=client, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts[0], counts[1]


def bench(topology: Topology, *, clients: int, seconds: float) -> dict[str, float]:
    made = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "tests.deploy.make_data", str(clients * 2), "100000.00"],
        cwd=BASE_DIR,
        env=topology.env,
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(made.stdout.strip().splitlines()[-1])
    codes = data["gift_card_codes"]
    direct_url = topology.app_servers[0].url
    _sales(topology.url, data["till_key"], codes[:clients], 2)  # warm every worker
    via_haproxy, errors_h = _sales(topology.url, data["till_key"], codes[:clients], seconds)
    direct, errors_d = _sales(direct_url, data["till_key"], codes[clients:], seconds)
    return {
        "clients": clients,
        "app_servers": len(topology.app_servers),
        "haproxy_sales_per_s": via_haproxy / seconds,
        "direct_sales_per_s": direct / seconds,
        "ratio": (via_haproxy / direct) if direct else float("nan"),
        "errors": errors_h + errors_d,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.bench_topology")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="kassa-bench-topology-"))
    state_dir.chmod(0o755)
    topology = start_topology(state_dir, web_workers=args.web_workers)
    try:
        result = bench(topology, clients=args.clients, seconds=args.seconds)
    finally:
        topology.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    print(
        f"{result['clients']} clients, {args.seconds:.0f} s each: "
        f"HAProxy over {result['app_servers']} app servers {result['haproxy_sales_per_s']:.1f} "
        f"sales/s, one app server directly {result['direct_sales_per_s']:.1f} sales/s, "
        f"ratio {result['ratio']:.2f} (non-201 answers: {result['errors']})"
    )


if __name__ == "__main__":
    main()
