from typing import Any

from django.core.management.base import BaseCommand

from payments.tasks import payments_recover_stuck


class Command(BaseCommand):
    help = (
        "Finish or roll back payments stuck in authorizing/capturing/voiding (after a crash or "
        "time-out), capture authorised payments whose requested capture never started, void "
        "authorisations past their expiry and finish pending refunds; the beat task does the same."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = payments_recover_stuck()
        summary = ", ".join(f"{status}: {count}" for status, count in sorted(outcome.items()))
        self.stdout.write(summary or "nothing to do")
