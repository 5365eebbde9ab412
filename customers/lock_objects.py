"""Row locks on customers, always taken in primary-key order so lockers never deadlock.

Anything that changes what a customer holds (identifiers, merges, and in other apps the rows
that point at a customer) locks the customer first, inside its transaction.
"""

from collections.abc import Iterable

from django.db import transaction

from customers.errors import CustomerErased, CustomerLockContention
from customers.models import Customer
from customers.selectors import customer_survivor_id

MAX_LOCK_ATTEMPTS = 10


class _MergedMeanwhile(Exception):
    """A locked customer turned out to be a tombstone: release the locks and follow it."""


def customers_lock(*, customer_ids: Iterable[int]) -> list[Customer]:
    """Lock exactly these customers (tombstones included), in pk order."""
    return list(
        Customer.objects.select_for_update(of=("self",))
        .filter(pk__in=set(customer_ids))
        .order_by("pk")
    )


def customers_lock_survivors(
    *, customer_ids: Iterable[int], allow_erased: bool = False
) -> dict[int, Customer]:
    """Lock the live survivors of these customers, in pk order; map each given id to its survivor.

    A customer may be merged between reading its id and locking it. Each attempt locks in a
    savepoint; if a locked row is a tombstone, the savepoint is rolled back (which releases its
    row locks), the tombstones are followed to their survivors and the whole set is locked
    again, so the locks are always taken in one canonical order. Call it inside a transaction.

    An erased survivor is refused (410 `customer_erased`): nothing may be attached to, paid
    with or recorded for an erased customer. Callers that only check (merge) pass
    `allow_erased=True` and refuse with their own code.
    """
    requested = set(customer_ids)
    for _ in range(MAX_LOCK_ATTEMPTS):
        survivor_of = {pk: customer_survivor_id(pk) for pk in requested}
        try:
            with transaction.atomic():
                locked = {c.pk: c for c in customers_lock(customer_ids=survivor_of.values())}
                if any(customer.merged_into_id is not None for customer in locked.values()):
                    raise _MergedMeanwhile
                if not allow_erased and any(c.erased_at is not None for c in locked.values()):
                    raise CustomerErased(field="customer")
                return {pk: locked[survivor] for pk, survivor in survivor_of.items()}
        except _MergedMeanwhile:
            continue
    raise CustomerLockContention
