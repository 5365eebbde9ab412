"""`bench/offers.py`: latency of `GET /api/v1/customers/{id}/offers` under concurrent clients,
against a reference measured in the same run, over real HTTP to gunicorn.

1. PostgreSQL: DATABASE_URL if set (a database you can throw away), else a throw-away embedded
   server.
2. Migrate; import a synthetic history (insights/synthetic.py) for a fresh merchant, every
   customer consenting; train the offers (the Celery task's work, here in process).
3. Serve under gunicorn (2 x cores sync workers, bench.settings).
4. Closed-loop clients (bench.driver): each asks the offers of the next customer in turn,
   `channel` alternating web / pos, `limit=10`. Reference: `GET /api/v1/customers/{id}` (the
   same authentication and customer lookup, then the profile's consents and identifiers), an
   ordinary authenticated read on this stack.
5. Print p50, p99 and throughput of both, the verdict on the target (p99 < 50 ms), and the
   selector's own time in process (`offers_for`, one customer after another, no HTTP): what
   the endpoint costs besides the stack.
"""

import argparse
import csv
import io
import itertools
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import SETTINGS, _cores, _gunicorn, _postgres  # noqa: E402

TARGET_P99_MS = 50.0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/offers.py", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured time before it")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--customers", type=int, default=1000, help="synthetic customers")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--smoke", action="store_true", help="seconds-long: proves it works")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.warmup, args.clients, args.customers = 1.0, 0.5, 2, 30
    return args


def _seed(customers: int) -> tuple[str, list[str]]:
    """(API key, customer public ids): a fresh merchant with a trained synthetic history."""
    from customers.models import Channel, ConsentPurpose, Identifier
    from customers.services import consent_record
    from insights.services import history_import, offers_train
    from insights.synthetic import COLUMNS, history
    from merchants.models import ApiKey, Merchant
    from merchants.services import api_key_issue

    merchant = Merchant.objects.create(name=f"Bench Offers {uuid.uuid4().hex[:8]}")
    _, key = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="bench offers")
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(history(customers=customers, seed=1))
    text.seek(0)
    report = history_import(merchant=merchant, lines=text)
    people = [
        identifier.customer
        for identifier in Identifier.objects.filter(merchant=merchant).select_related("customer")
    ]
    for person in people:
        consent_record(
            customer=person,
            purpose=ConsentPurpose.PERSONALISATION,
            granted=True,
            channel=Channel.WEB,
            evidence="bench",
        )
    started = time.monotonic()
    served = offers_train(merchant=merchant)
    print(
        f"imported {report.imported} lines for {len(people)} customers; offers trained for"
        f" {served} in {time.monotonic() - started:.1f}s",
        flush=True,
    )
    return key, [str(person.public_id) for person in people]


def _in_process(customers: list[str]) -> tuple[float, float]:
    """(p50 ms, p99 ms) of `offers_for` alone, one call per customer, channel alternating."""
    from bench.report import percentile
    from customers.models import Customer
    from insights.selectors import offers_for

    timings = []
    for customer_id, channel in zip(customers, itertools.cycle(("web", "pos")), strict=False):
        started = time.perf_counter()
        customer = Customer.objects.get(public_id=customer_id)
        offers_for(customer=customer, channel=channel, limit=10)
        timings.append(time.perf_counter() - started)
    return percentile(timings, 0.5) * 1000, percentile(timings, 0.99) * 1000


def _run(base_url: str, key: str, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    from bench.driver import Session, drive
    from bench.report import percentile

    cycle = itertools.cycle(paths)

    async def ask(session: Session, n: int) -> None:
        answer = await session.get(next(cycle), key=key)
        if "offers" in answer and not answer["personalised"]:
            raise RuntimeError("offers not personalised: the training did not serve this one")

    result = drive(base_url, ask, clients=args.clients, seconds=args.seconds, warmup=args.warmup)
    return {
        "requests": result.completed,
        "errors": dict(result.errors),
        "throughput": result.throughput,
        "p50_ms": percentile(result.latencies, 0.50) * 1000,
        "p99_ms": percentile(result.latencies, 0.99) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    with _postgres():
        os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
        import django

        django.setup()
        from django.db import connection

        from bench import measure

        measure.prepare()
        key, customers = _seed(args.customers)
        selector = _in_process(customers)
        connection.close()
        workers = 2 * _cores()
        with _gunicorn(workers, args.results / "gunicorn-offers.log") as (base_url, _):
            measure.wait_healthy(base_url)
            figures = {}
            for name, template in (
                ("offers", "/api/v1/customers/{}/offers?channel={}&limit=10"),
                ("reference", "/api/v1/customers/{}"),
            ):
                paths = [
                    template.format(customer, channel)
                    for customer, channel in zip(
                        customers, itertools.cycle(("web", "pos")), strict=False
                    )
                ]
                figures[name] = _run(base_url, key, paths, args)
    print(
        f"\n{args.clients} clients, {args.seconds:.0f}s each after {args.warmup:.0f}s warm-up,"
        f" {len(customers)} customers, gunicorn {workers} sync workers, {_cores()} cores"
    )
    print("| run | requests | req/s | p50 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, row in figures.items():
        print(
            f"| {name} | {row['requests']} | {row['throughput']:.0f} | {row['p50_ms']:.1f}"
            f" | {row['p99_ms']:.1f} | {sum(row['errors'].values())} |"
        )
    print(
        f"in process, offers_for with the customer's lookup: p50 {selector[0]:.2f} ms,"
        f" p99 {selector[1]:.2f} ms"
    )
    p99 = figures["offers"]["p99_ms"]
    verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
    print(f"target p99 < {TARGET_P99_MS:.0f} ms: {verdict} ({p99:.1f} ms)")
    return 1 if any(row["errors"] for row in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
