"""`make bench`: Kassa's checkout throughput and latency, against references measured in the
same run on the same PostgreSQL server.

1. PostgreSQL: DATABASE_URL if set (a database you can throw away), else a throw-away embedded
   server; localstripe on loopback for the saved cards.
2. Migrate, seed (bench.seed), serve under gunicorn (2 x cores sync workers, bench.settings).
3. R1: pgbench TPC-B, 8 clients, in its own database on the same server.
4. R2 and the scenarios: closed-loop HTTP clients (bench.driver) for a fixed time each.
5. In process: SQL statements and transactions of one checkout per run, and where the time of
   one S1 checkout goes (bench.inprocess).
6. Print the tables; write them, the figures (JSON), the SQL of one S1 checkout and the
   profile to bench/results/.

Everything stops by itself; every process started here is stopped on the way out.
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config.embedded import free_port, start_localstripe, start_postgres, wait_for_port  # noqa: E402

SETTINGS = "bench.settings"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured time before it")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (as R1)")
    parser.add_argument("--customers", type=int, default=32, help="seeded customers")
    parser.add_argument("--runs", default="R1,R2,S1,S1b,S2,S3", help="which runs, in order")
    parser.add_argument("--profile-checkouts", type=int, default=40)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--smoke", action="store_true", help="seconds-long runs: proves the bench works"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.warmup, args.clients, args.customers = 1.0, 0.5, 2, 2
        args.profile_checkouts = 2
    return args


def _cores() -> int:
    return len(os.sched_getaffinity(0))


@contextmanager
def _postgres() -> Iterator[int | None]:
    """Yield the postmaster pid when the server is ours (so its CPU can be measured)."""
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    server = start_postgres(throwaway=True)
    os.environ["DATABASE_URL"] = server.database_url()
    try:
        yield server.server.get_pid()
    finally:
        server.stop()


@contextmanager
def _localstripe() -> Iterator[int]:
    server = start_localstripe()
    os.environ["STRIPE_API_BASE"] = server.api_base
    try:
        yield server.process.pid
    finally:
        server.stop()


@contextmanager
def _gunicorn(workers: int, log: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port("127.0.0.1", port, process=process, timeout=60)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _machine(postgres_version: str, workers: int) -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    import django
    import rest_framework

    return {
        "cpu": model,
        "cores": _cores(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "drf": rest_framework.VERSION,
        "postgres": postgres_version,
        "gunicorn_workers": workers,
    }


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.monotonic()
    args.results.mkdir(parents=True, exist_ok=True)
    runs = [name.strip() for name in args.runs.split(",") if name.strip()]
    workers = 2 * _cores()
    with ExitStack() as stack:
        postmaster = stack.enter_context(_postgres())
        localstripe = stack.enter_context(_localstripe())
        os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
        import django

        django.setup()
        from bench import measure

        measure.prepare()
        print(f"seeding {args.customers} customers for {args.clients} clients ...", flush=True)
        fixture = measure.seed_fixture(clients=args.clients, customers=args.customers)
        base_url, gunicorn = stack.enter_context(_gunicorn(workers, args.results / "gunicorn.log"))
        measure.wait_healthy(base_url)
        roots = {"app": gunicorn, "localstripe": localstripe}
        if postmaster is not None:
            roots["postgres"] = postmaster
        bench = measure.Bench(
            base_url=base_url,
            fixture=fixture,
            roots=roots,
            clients=args.clients,
            seconds=args.seconds,
            warmup=args.warmup,
        )
        stack.callback(bench.cleanup)
        rows = bench.run_all(runs)
        split, profile = measure.profile_s1(fixture, checkouts=args.profile_checkouts)
        machine = _machine(measure.postgres_version(), workers)
        text = measure.render(
            rows,
            machine=machine,
            args=vars(args),
            split=split,
            profile=profile,
            statements=bench.statements,
        )
        print(text, flush=True)
        (args.results / "report.txt").write_text(text)
        (args.results / "profile-S1.txt").write_text(profile.top)
        if "S1" in bench.statements:
            (args.results / "sql-S1.txt").write_text("\n".join(bench.statements["S1"].sql) + "\n")
        (args.results / "figures.json").write_text(
            json.dumps(measure.as_json(rows, machine, split, profile), indent=2)
        )
    print(f"bench finished in {time.monotonic() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
