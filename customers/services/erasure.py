"""Erasure (GDPR art. 17), staged like Saleor's customer removal: check, erase, verify.

1. `customer_erase` runs one durable transaction: lock the customer; an erasure already
   recorded is answered again (idempotent); stored value left with no decision is refused
   (409 `wallet_has_value` with the amounts); otherwise the audit record is written and every
   app's privacy handler erases what it holds, dependents first (payments, wallet, customers).
   From its commit the customer answers 410 `customer_erased` and cannot be identified by the
   old identifiers (deleted), merged into or paid with.
2. `customer_erasure_finish` then runs each handler's external clean-up with no transaction
   open (saved cards detached and the Stripe Customer deleted). If Stripe is out of reach the
   erasure stays `pending` and `customer_erasures_finish_pending` (beat, every 5 minutes)
   finishes it; each step is idempotent.
"""

import logging

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.errors import KassaError
from customers.errors import WalletHasValue
from customers.lock_objects import customers_lock_survivors
from customers.models import Customer, CustomerErasure, Identifier
from customers.privacy.contract import ErasureContext, privacy_handlers

logger = logging.getLogger(__name__)
MIN_NAME_NEEDLE = 3
FINISH_BATCH = 100


def customer_needles(customer: Customer) -> tuple[str, ...]:
    """The personal values to redact from free text: the names of the customer (and of the
    tombstones merged into it) and every identifier value it ever held, lower-cased."""
    people = [customer, *Customer.objects.filter(merged_into=customer)]
    needles: set[str] = set()
    for person in people:
        full = f"{person.first_name} {person.last_name}".strip()
        for part in (full, person.first_name, person.last_name):
            if len(part.strip()) >= MIN_NAME_NEEDLE:
                needles.add(part.strip().lower())
    owners = [person.pk for person in people]
    for kind, value in Identifier.objects.filter(customer_id__in=owners).values_list(
        "kind", "value"
    ):
        needles.add(value.lower())
        if kind == Identifier.Kind.PHONE:
            needles.add(value.lstrip("+"))
    return tuple(sorted(needles))


def customer_stored_value(*, customer: Customer) -> list[dict[str, object]]:
    """Stored value the customer still holds, from every app's handler."""
    return [
        item for handler in privacy_handlers() for item in handler.stored_value(customer=customer)
    ]


@transaction.atomic(durable=True)
def _erase_in_database(
    *, customer: Customer, reason: str, stored_value: str | None, actor: str
) -> CustomerErasure:
    locked = customers_lock_survivors(customer_ids=[customer.pk], allow_erased=True)
    customer = locked[customer.pk]
    existing = CustomerErasure.objects.filter(customer=customer).first()
    if existing is not None:
        return existing
    held = customer_stored_value(customer=customer)
    if held and stored_value is None:
        raise WalletHasValue(field="stored_value", meta={"stored_value": held})
    context = ErasureContext(
        customer=customer,
        stored_value=stored_value if held else None,
        actor=actor,
        needles=customer_needles(customer),
    )
    erasure = CustomerErasure.objects.create(
        merchant_id=customer.merchant_id,
        customer=customer,
        stored_value=stored_value if held and stored_value else CustomerErasure.StoredValue.NONE,
        reason=context.redact(reason),
        actor=actor,
    )
    summary = {
        handler.app_label: handler.erase(context=context)
        for handler in reversed(privacy_handlers())
    }
    erasure.summary = {"database": summary}
    erasure.save(update_fields=["summary"])
    return erasure


def customer_erase(
    *, customer: Customer, reason: str, stored_value: str | None, actor: str
) -> CustomerErasure:
    """Erase the customer's personal data; keep payments and the ledger under the pseudonymous
    id. `stored_value`: "forfeit" (balances and points to breakage), "keep", or None (refused
    with 409 `wallet_has_value` if any is left). Returns the audit record (maybe `pending`)."""
    erasure = _erase_in_database(
        customer=customer, reason=reason, stored_value=stored_value, actor=actor
    )
    return customer_erasure_finish(erasure=erasure)


def customer_erasure_finish(*, erasure: CustomerErasure) -> CustomerErasure:
    """The clean-up at third parties, outside any transaction; `pending` while it fails."""
    if erasure.status == CustomerErasure.Status.COMPLETED:
        return erasure
    customer = Customer.objects.get(pk=erasure.customer_id)
    external: dict[str, object] = {}
    try:
        for handler in privacy_handlers():
            external[handler.app_label] = handler.erase_external(customer=customer)
    except KassaError as error:
        logger.warning("erasure %s: external clean-up failed (%s)", erasure.public_id, error.code)
        CustomerErasure.objects.filter(pk=erasure.pk).update(
            external_attempts=F("external_attempts") + 1, last_error=error.code
        )
        erasure.refresh_from_db()
        return erasure
    with transaction.atomic():
        erasure = CustomerErasure.objects.select_for_update().get(pk=erasure.pk)
        if erasure.status != CustomerErasure.Status.COMPLETED:
            erasure.status = CustomerErasure.Status.COMPLETED
            erasure.completed_at = timezone.now()
            erasure.external_attempts += 1
            erasure.last_error = ""
            erasure.summary = {**erasure.summary, "external": external}
            erasure.save()
    return erasure


def customer_erasures_finish_pending() -> int:
    """Finish every erasure whose external clean-up is still pending; how many completed."""
    done = 0
    pending = CustomerErasure.objects.filter(status=CustomerErasure.Status.PENDING).order_by("pk")
    for erasure in list(pending[:FINISH_BATCH]):
        if customer_erasure_finish(erasure=erasure).status == CustomerErasure.Status.COMPLETED:
            done += 1
    return done


def customers_inactive_since(*, cutoff: object) -> list[Customer]:
    """Live customers with no sign of life in customers since `cutoff` (other apps are asked
    by the caller through their handlers' `last_activity`)."""
    recent = Q(identifiers__last_seen_at__gte=cutoff) | Q(consent_events__recorded_at__gte=cutoff)
    return list(
        Customer.objects.filter(
            erased_at__isnull=True,
            merged_into__isnull=True,
            created_at__lt=cutoff,
            updated_at__lt=cutoff,
        )
        .exclude(pk__in=Customer.objects.filter(recent).values("pk"))
        .order_by("pk")[:FINISH_BATCH]
    )
