"""`manage.py offers_evaluate --history FILE.csv --split-at DATE --k 10`: offline figures.

Reads the history-import CSV (no database), trains every recommender on the lines before the
split and measures them on the lines after it. `--synthetic N` uses the seeded generator.
"""

import json
from argparse import ArgumentParser
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from insights.evaluation import dataset_from_rows, dataset_read, evaluate, report_lines
from insights.synthetic import history


class Command(BaseCommand):
    help = "Offline evaluation of the recommenders on a time split."

    def add_arguments(self, parser: ArgumentParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--history", help="A history-import CSV.")
        source.add_argument("--synthetic", type=int, help="Generate this many customers.")
        parser.add_argument("--split-at", required=True, help="ISO date: train before, test after.")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--customers", type=int, help="Test on a random sample of N.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            split_at = datetime.fromisoformat(options["split_at"])
        except ValueError as error:
            raise CommandError("--split-at is not an ISO date") from error
        if split_at.tzinfo is None:
            split_at = split_at.replace(tzinfo=UTC)
        if not 1 <= options["k"] <= 100:
            raise CommandError("--k must be from 1 to 100")
        if options["history"]:
            path = Path(options["history"])
            if not path.is_file():
                raise CommandError(f"cannot read {path}")
            dataset = dataset_read(path)
        else:
            dataset = dataset_from_rows(
                history(customers=options["synthetic"], seed=options["seed"])
            )
        figures = evaluate(
            dataset,
            split_at=split_at,
            k=options["k"],
            customers=options["customers"],
            seed=options["seed"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2))
        else:
            for line in report_lines(figures):
                self.stdout.write(line)
