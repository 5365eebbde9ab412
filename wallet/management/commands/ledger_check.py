from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wallet.ledger import ledger_verify


class Command(BaseCommand):
    help = (
        "Recompute every cached ledger balance from its entries and check that every transfer "
        "sums to zero; exits non-zero on any mismatch."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = ledger_verify()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"ledger_check: {len(problems)} problem(s) found")
        self.stdout.write("ledger_check: every balance and transfer is consistent")
