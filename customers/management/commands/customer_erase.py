"""`manage.py customer_erase <public id> --reason … [--stored-value forfeit|keep] --user NAME`"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.actors import system_actor, user_actor
from config.errors import KassaError
from customers.models import Customer
from customers.selectors import customer_survivor
from customers.services import customer_erase


class Command(BaseCommand):
    help = "Erase a customer's personal data (payments and the ledger stay, pseudonymous)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer", help="The customer's public id.")
        parser.add_argument("--reason", required=True, help="Why; do not name the person.")
        parser.add_argument("--stored-value", choices=["forfeit", "keep"], default=None)
        parser.add_argument("--user", help="The back-office user acting (for the audit).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            customer = customer_survivor(Customer.objects.get(public_id=options["customer"]))
        except (Customer.DoesNotExist, ValueError) as error:
            raise CommandError("No such customer.") from error
        actor = user_actor(_User(options["user"])) if options["user"] else system_actor("cli")
        try:
            erasure = customer_erase(
                customer=customer,
                reason=options["reason"],
                stored_value=options["stored_value"],
                actor=actor,
            )
        except KassaError as error:
            raise CommandError(f"{error.detail} ({error.code}) {error.meta or ''}") from error
        self.stdout.write(f"erasure {erasure.public_id}: {erasure.status}")


class _User:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_username(self) -> str:
        return self.name
