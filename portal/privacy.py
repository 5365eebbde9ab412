"""Privacy in the portal: download-my-data and erase-my-account (the customers app's export and
erasure, asked for by the customer themselves, actor `customer:<public id>`), and the portal's
own handler of the customer-data contract (customers.privacy.contract)."""

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from config.actors import customer_actor
from customers.models import Customer, CustomerErasure
from customers.privacy.contract import (
    CustomerDataHandler,
    ErasureContext,
    Moved,
    privacy_handler_register,
    rows_repoint,
)
from customers.privacy.export import customer_export_chunks
from customers.services import customer_erase
from portal.models import OneTimeCode

CODE_RETENTION = timedelta(days=1)
KEEP = "keep"
FORFEIT = "forfeit"


def export_chunks(customer: Customer) -> Iterator[str]:
    """The same streamed JSON document the back office exports (customers.privacy)."""
    return customer_export_chunks(customer=customer)


def erase(*, customer: Customer, stored_value: str | None, reason: str) -> CustomerErasure:
    """Erase the signed-in customer. Only gift card value is asked about (the page says points
    are lost), so with no gift card value left whatever remains is forfeited."""
    return customer_erase(
        customer=customer,
        reason=reason or "asked in the customer portal",
        stored_value=stored_value or FORFEIT,
        actor=customer_actor(customer.public_id),
    )


class PortalPrivacy(CustomerDataHandler):
    """The portal holds one-time codes: where they went (an email or phone) and when. They are
    exported without their hashes, erased with the customer (decoy rows too, found by the
    destination), moved on merge, and purged a day after they expire."""

    app_label = "portal"
    order = 30
    references = frozenset({("portal.onetimecode", "customer")})

    def export(self, *, customer: Customer) -> Mapping[str, Any]:
        codes = OneTimeCode.objects.filter(customer=customer).order_by("created_at", "pk")
        return {
            "one_time_codes": [
                {
                    "purpose": code.purpose,
                    "sent_to": code.destination,
                    "created_at": code.created_at.isoformat(),
                    "used_at": None if code.used_at is None else code.used_at.isoformat(),
                }
                for code in codes.iterator()
            ]
        }

    def erase(self, *, context: ErasureContext) -> dict[str, Any]:
        mine = Q(customer=context.customer) | Q(destination__in=context.needles)
        deleted, _ = OneTimeCode.objects.filter(mine).delete()
        return {"one_time_codes_deleted": deleted}

    def merge(self, *, absorbed: Customer, survivor: Customer) -> list[Moved]:
        move = rows_repoint(OneTimeCode, "customer", old=absorbed.pk, new=survivor.pk)
        return [] if move is None else [move]

    def retention_purge(self, *, now: datetime) -> dict[str, int]:
        deleted, _ = OneTimeCode.objects.filter(expires_at__lt=now - CODE_RETENTION).delete()
        return {"portal_one_time_codes": deleted}


privacy_handler_register(PortalPrivacy())
