"""`bench/history_import.py`: `manage.py history_import` on a 100,000-line CSV, timed, twice.

The CSV comes from the synthetic generator (insights/synthetic.py, as many customers as it
takes, cut at the line count). The command runs as a subprocess, its progress lines shown as
they come; the second import of the same file must add nothing. PostgreSQL: DATABASE_URL if
set (a database you can throw away), else a throw-away embedded server.
"""

import argparse
import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import SETTINGS, _postgres  # noqa: E402
from insights.synthetic import COLUMNS, history  # noqa: E402

SUMMARY = re.compile(r"read (\d+) lines: imported (\d+), already there (\d+), rejected (\d+)")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/history_import.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--smoke", action="store_true", help="2,000 lines: proves it works")
    args = parser.parse_args(argv)
    if args.smoke:
        args.lines = 2_000
    return args


def history_csv(path: Path, lines: int) -> int:
    """Write `lines` synthetic lines (customers enough for them); customers begun."""
    customers = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        # 75 lines a customer on average: ask for enough customers, stop at the count.
        for written, row in enumerate(history(customers=lines // 50 + 10, seed=5)):
            if written == lines:
                break
            writer.writerow(row)
            customers = max(customers, int(row["customer_ref"][1:]) + 1)
    return customers


def _import(path: Path, merchant: str) -> tuple[float, tuple[int, ...]]:
    """(seconds, (read, imported, already there, rejected)) of one import."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "history_import", str(path), "--merchant", merchant],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    last = ""
    for line in process.stdout:
        print(f"  {line.rstrip()}", flush=True)
        last = line
    if process.wait() != 0:
        raise RuntimeError(f"history_import exited with {process.returncode}")
    seconds = time.monotonic() - started
    found = SUMMARY.search(last)
    if found is None:
        raise RuntimeError(f"no summary line in {last!r}")
    return seconds, tuple(int(n) for n in found.groups())


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / "history-import.csv"
    customers = history_csv(path, args.lines)
    print(f"{path}: {args.lines} lines, {customers} customers", flush=True)
    with _postgres():
        os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
        import django

        django.setup()
        from bench import measure
        from merchants.models import Merchant

        measure.prepare()
        merchant = str(Merchant.objects.create(name="Bench History").public_id)
        first_seconds, first = _import(path, merchant)
        second_seconds, second = _import(path, merchant)
    print("\n| import | seconds | lines/s | read | imported | already there | rejected |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, seconds, counts in (
        ("first", first_seconds, first),
        ("second", second_seconds, second),
    ):
        print(
            f"| {name} | {seconds:.1f} | {counts[0] / seconds:.0f} | "
            + " | ".join(str(n) for n in counts)
            + " |"
        )
    ok = first[1] == args.lines and second[1] == 0 and second[2] == args.lines
    print("second import added nothing" if second[1] == 0 else "SECOND IMPORT ADDED LINES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
