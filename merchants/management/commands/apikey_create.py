import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import KassaError
from merchants.models import ApiKey, Merchant, Terminal
from merchants.services import api_key_issue


def _find_merchant(name_or_id: str) -> Merchant | None:
    try:
        return Merchant.objects.filter(public_id=uuid.UUID(name_or_id)).first()
    except ValueError:
        return Merchant.objects.filter(name=name_or_id).first()


class Command(BaseCommand):
    help = "Issue an API key and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--merchant", required=True, help="Merchant public id or exact name.")
        parser.add_argument("--scope", required=True, choices=[s.value for s in ApiKey.Scope])
        parser.add_argument("--terminal", help="STORE_CODE/TILL_CODE, for terminal keys.")
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = _find_merchant(options["merchant"])
        if merchant is None:
            raise CommandError(f"No merchant {options['merchant']!r}.")
        terminal = None
        if options["terminal"]:
            store_code, _, till_code = options["terminal"].partition("/")
            terminal = Terminal.objects.filter(
                store__merchant=merchant, store__code=store_code, code=till_code
            ).first()
            if terminal is None:
                raise CommandError(f"No terminal {options['terminal']!r} at {merchant}.")
        try:
            _, raw_key = api_key_issue(
                merchant=merchant, scope=options["scope"], name=options["name"], terminal=terminal
            )
        except KassaError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(raw_key)
