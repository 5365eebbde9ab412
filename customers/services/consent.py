"""Consent that gates processing.

Every use of a customer's data for a purpose asks `consent_allows(customer=..., purpose=...)`
first (current consent = the latest event per purpose; never asked = not given; an erased or
unknown customer = no). Withdrawing a purpose deletes what was derived from the data for it:
apps register a *derived data deleter* per purpose (`derived_data_deleter_register`, from their
`AppConfig.ready()`), which `consent_record` runs in the same transaction as the withdrawal and
erasure runs for every purpose. A deleter takes the (locked) customer, deletes its rows and
returns how many; it must not call the network (schedule that with `transaction.on_commit`).
"""

from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

from customers.lock_objects import customers_lock_survivors
from customers.models import ConsentEvent, ConsentPurpose, Customer
from customers.selectors import consent_current, customer_survivor
from merchants.models import ApiKey

DerivedDataDeleter = Callable[[Customer], int]
_DELETERS: dict[str, list[tuple[str, DerivedDataDeleter]]] = defaultdict(list)


def derived_data_deleter_register(*, purpose: str, name: str, deleter: DerivedDataDeleter) -> None:
    """Register `deleter` for data derived under `purpose`; the same name registers once."""
    if purpose not in ConsentPurpose.values:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    entries = _DELETERS[purpose]
    entries[:] = [(known, fn) for known, fn in entries if known != name]
    entries.append((name, deleter))


def derived_data_delete(*, customer: Customer, purposes: list[str]) -> dict[str, int]:
    """Run every deleter registered for `purposes`; rows deleted per deleter name."""
    deleted: dict[str, int] = {}
    for purpose in purposes:
        for name, deleter in _DELETERS.get(purpose, []):
            deleted[f"{purpose}:{name}"] = deleter(customer)
    return deleted


def consent_allows(*, customer: Customer, purpose: str) -> bool:
    """Whether the customer's data may be used for `purpose` now."""
    if purpose not in ConsentPurpose.values:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    customer = customer_survivor(customer)
    if customer.erased_at is not None:
        return False
    event = consent_current(customer=customer)[purpose]
    return event is not None and event.granted


def consent_allows_sql(*, customer: Customer, purpose: str) -> tuple[str, list[int | str]]:
    """`consent_allows` as an SQL boolean expression and its parameters, for a read that folds
    the check into its own query (one round trip, the offers endpoint's): the same rule, kept
    next to it so the two cannot drift."""
    if purpose not in ConsentPurpose.values:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    customer = customer_survivor(customer)
    if customer.erased_at is not None:
        return "false", []
    latest = (
        f"SELECT granted FROM {ConsentEvent._meta.db_table} WHERE customer_id = %s"  # noqa: S608
        " AND purpose = %s ORDER BY recorded_at DESC, id DESC LIMIT 1"
    )
    return f"COALESCE(({latest}), false)", [customer.pk, purpose]


@transaction.atomic
def consent_record(
    *,
    customer: Customer,
    purpose: str,
    granted: bool,
    channel: str,
    evidence: str,
    api_key: ApiKey | None = None,
) -> ConsentEvent:
    """Append a consent change; it goes to the survivor even if a merge lands meanwhile.

    A withdrawal deletes the data derived for the purpose, in the same transaction.
    """
    survivor = customers_lock_survivors(customer_ids=[customer.pk])[customer.pk]
    event = ConsentEvent.objects.create(
        customer=survivor,
        purpose=purpose,
        granted=granted,
        channel=channel,
        evidence=evidence,
        api_key=api_key,
    )
    if not granted:
        derived_data_delete(customer=survivor, purposes=[purpose])
    return event
