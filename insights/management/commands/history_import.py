"""`manage.py history_import FILE.csv [--merchant ID]`: past purchases into insights."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from insights.services import HistoryFileInvalid, ImportReport, history_import
from merchants.models import Merchant


class Command(BaseCommand):
    help = "Import purchase history from a CSV (idempotent; bad lines reported and skipped)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--merchant", help="The merchant's public id (optional when there is only one)."
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = self._merchant(options["merchant"])
        try:
            handle = open(options["file"], newline="", encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"cannot read {options['file']}: {error}") from error

        def progress(report: ImportReport) -> None:
            self.stdout.write(
                f"read {report.lines} lines: imported {report.imported},"
                f" already there {report.duplicates}, rejected {len(report.rejected)}"
            )

        with handle:
            try:
                report = history_import(
                    merchant=merchant,
                    lines=handle,
                    batch_size=max(1, min(options["batch_size"], 5000)),
                    progress=progress,
                )
            except HistoryFileInvalid as error:
                raise CommandError(str(error)) from error
        for line, reason in report.rejected:
            self.stderr.write(f"line {line}: {reason}")
        progress(report)

    def _merchant(self, public_id: str | None) -> Merchant:
        if public_id:
            try:
                return Merchant.objects.get(public_id=public_id)
            except (Merchant.DoesNotExist, ValueError) as error:
                raise CommandError(f"no merchant {public_id}") from error
        merchants = list(Merchant.objects.all()[:2])
        if len(merchants) != 1:
            raise CommandError("name the merchant with --merchant")
        return merchants[0]
