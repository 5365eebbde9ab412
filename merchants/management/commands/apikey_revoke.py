from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from merchants.models import ApiKey
from merchants.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its printed prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = list(ApiKey.objects.filter(prefix=options["prefix"], revoked_at__isnull=True))
        if len(keys) != 1:
            raise CommandError(f"{len(keys)} live keys have prefix {options['prefix']!r}.")
        api_key_revoke(api_key=keys[0])
        self.stdout.write(f"revoked {keys[0]}")
