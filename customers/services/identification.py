"""Identification: a touchpoint presents identifiers; find, create or merge the one customer.

Whoever changes what a customer holds locks that customer first (`customers.lock_objects`), so
merges, identifications and consent changes on the same people serialise in one lock order.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from config import actors
from config.errors import KassaError
from customers.errors import (
    IdentifyContention,
    InvalidIdentifier,
    NoIdentifiers,
    ScanNotSupported,
    UnknownIdentifierKind,
)
from customers.lock_objects import customers_lock_survivors
from customers.models import (
    Customer,
    CustomerMerge,
    Identifier,
    IdentityConflict,
    Strength,
)
from customers.normalisation import identifier_normalise
from customers.policy import (
    CustomerMatch,
    IdentityLink,
    MergePolicy,
    PresentedIdentifier,
    merge_on_verified_links,
)
from customers.services.access import customer_access_grant
from customers.services.merge import merge_locked
from merchants.models import ApiKey, Merchant

MAX_IDENTIFY_ATTEMPTS = 5


class Outcome(StrEnum):
    CREATED = "created"
    MATCHED = "matched"
    MERGED = "merged"
    UNKNOWN = "unknown"


class IdentifierStatus(StrEnum):
    MATCHED = "matched"  # already this customer's
    ATTACHED = "attached"  # new, now this customer's
    UNKNOWN = "unknown"  # nobody's, and left that way
    OTHER_CUSTOMER = "other_customer"  # another customer's, and left there (a conflict)


@dataclass(frozen=True)
class IdentifiedIdentifier:
    kind: str
    value: str
    verified: bool
    status: IdentifierStatus


@dataclass(frozen=True)
class Identification:
    """The answer to a presentation: the customer (if any), how they were found, per identifier."""

    customer: Customer | None
    outcome: Outcome
    conflict: IdentityConflict | None
    identifiers: list[IdentifiedIdentifier]
    # What a till may now do with the customer; None for merchant and staff keys.
    strength: Strength | None = None


class _ResolveAgain(Exception):
    """The identifiers moved between reading and locking their customers: start over."""


def api_key_actor(api_key: ApiKey) -> str:
    """The config.actors form, as every audit row records it."""
    return actors.api_key_actor(api_key)


def user_actor(user: User) -> str:
    return actors.user_actor(user)


def _presented_strength(
    presented: Sequence[PresentedIdentifier], identification: Identification
) -> Strength:
    """A scanned loyalty card is strong for the loyalty account it already belonged to.

    A card attached just now (or someone else's) proves nothing: typing a victim's email next
    to a fresh card must not unlock the victim's points.
    """
    scanned = {(item.kind, item.value) for item in presented if item.scanned}
    owned = any(
        (answer.kind, answer.value) in scanned and answer.status == IdentifierStatus.MATCHED
        for answer in identification.identifiers
    )
    return Strength.LOYALTY if owned else Strength.WEAK


def identifiers_normalise(
    *, identifiers: Sequence[PresentedIdentifier]
) -> list[PresentedIdentifier]:
    """Normalise what a touchpoint presented; one error per bad identifier, all reported at once.

    Duplicates (the same value spelled twice) collapse into one, verified if either was.
    """
    if not identifiers:
        raise NoIdentifiers(field="identifiers")
    errors: list[KassaError] = []
    normalised: dict[tuple[str, str], PresentedIdentifier] = {}
    for index, item in enumerate(identifiers):
        try:
            value = identifier_normalise(kind=item.kind, value=item.value)
        except UnknownIdentifierKind as error:
            error.field = f"identifiers[{index}].kind"
            errors.append(error)
            continue
        except InvalidIdentifier as error:
            error.field = f"identifiers[{index}].value"
            errors.append(error)
            continue
        if item.scanned and item.kind != Identifier.Kind.LOYALTY_CARD:
            errors.append(ScanNotSupported(field=f"identifiers[{index}].presentation"))
            continue
        previous = normalised.get((item.kind, value))
        verified = item.verified or (previous is not None and previous.verified)
        scanned = item.scanned or (previous is not None and previous.scanned)
        normalised[(item.kind, value)] = PresentedIdentifier(item.kind, value, verified, scanned)
    if errors:
        first = errors[0]
        raise type(first)(first.detail, field=first.field, errors=errors)
    return list(normalised.values())


def customer_identify(
    *,
    merchant: Merchant,
    identifiers: Sequence[PresentedIdentifier],
    channel: str,
    create: bool = True,
    api_key: ApiKey | None = None,
    first_name: str = "",
    last_name: str = "",
    policy: MergePolicy = merge_on_verified_links,
) -> Identification:
    """Find (or create) the one customer behind the presented identifiers.

    None match: create the customer with them (with `create=False`: answer `unknown`). One
    customer matches: attach the new identifiers to them, unverified. Several match: merge them
    into the best match if `policy` allows, else answer the best match with a recorded conflict
    and attach nothing, so nobody's identifier is ever silently re-assigned. A till that
    identifies a customer is granted access to them. Names are used only to create.
    """
    presented = identifiers_normalise(identifiers=identifiers)
    for _ in range(MAX_IDENTIFY_ATTEMPTS):
        try:
            with transaction.atomic():
                identification = _identify_once(
                    merchant=merchant,
                    presented=presented,
                    channel=channel,
                    create=create,
                    api_key=api_key,
                    names=(first_name, last_name),
                    policy=policy,
                )
                if api_key is not None and identification.customer is not None:
                    grant = customer_access_grant(
                        api_key=api_key,
                        customer=identification.customer,
                        strength=_presented_strength(presented, identification),
                    )
                    if grant is not None:
                        strength = grant.strength_at(timezone.now())
                        identification = replace(identification, strength=strength)
                return identification
        except _ResolveAgain:
            continue
        except IntegrityError as error:
            # Two presentations raced to store the same new identifier; the loser starts over
            # and now finds it.
            if "identifier_live_unique" not in str(error):
                raise
    raise IdentifyContention


def _live_matches(
    *, merchant: Merchant, presented: Sequence[PresentedIdentifier]
) -> list[Identifier]:
    condition = models.Q()
    for item in presented:
        condition |= models.Q(kind=item.kind, value=item.value)
    return list(
        Identifier.objects.filter(condition, merchant=merchant, removed_at__isnull=True).order_by(
            "pk"
        )
    )


def _identify_once(
    *,
    merchant: Merchant,
    presented: list[PresentedIdentifier],
    channel: str,
    create: bool,
    api_key: ApiKey | None,
    names: tuple[str, str],
    policy: MergePolicy,
) -> Identification:
    stored = _live_matches(merchant=merchant, presented=presented)
    if not stored:
        return _identify_nobody(
            merchant=merchant, presented=presented, channel=channel, create=create, names=names
        )
    locked = customers_lock_survivors(customer_ids={row.customer_id for row in stored})
    stored = _live_matches(merchant=merchant, presented=presented)
    if {row.customer_id for row in stored} != {customer.pk for customer in locked.values()}:
        raise _ResolveAgain

    by_key = {(item.kind, item.value): item for item in presented}
    customers = {customer.pk: customer for customer in locked.values()}
    links: dict[int, list[IdentityLink]] = {pk: [] for pk in customers}
    for row in stored:
        links[row.customer_id].append(IdentityLink(row, by_key[(row.kind, row.value)]))
    matches = sorted(
        (CustomerMatch(customers[pk], tuple(found)) for pk, found in links.items()),
        key=CustomerMatch.rank,
    )
    best = matches[0]
    now = timezone.now()
    Identifier.objects.filter(pk__in=[row.pk for row in stored]).update(last_seen_at=now)

    if len(matches) > 1 and not policy(matches):
        conflict = _conflict_record(
            merchant=merchant,
            matches=matches,
            presented=presented,
            channel=channel,
            api_key=api_key,
            now=now,
        )
        mine = {(link.stored.kind, link.stored.value): link.stored for link in best.links}
        answer = []
        for item in presented:
            if (own := mine.get((item.kind, item.value))) is not None:
                answer.append(_answer(own, IdentifierStatus.MATCHED))
            elif any(row.kind == item.kind and row.value == item.value for row in stored):
                answer.append(_answer(item, IdentifierStatus.OTHER_CUSTOMER))
            else:
                answer.append(_answer(item, IdentifierStatus.UNKNOWN))
        return Identification(best.customer, Outcome.MATCHED, conflict, answer)

    survivor = best.customer
    links_seen = ", ".join(
        f"{link.stored.kind}{' (verified both sides)' if link.verified else ''}"
        for match in matches
        for link in match.links
    )
    for other in matches[1:]:
        merge_locked(
            survivor=survivor,
            absorbed=other.customer,
            source=CustomerMerge.Source.IDENTIFY,
            reason=f"Presented together on {channel}: {links_seen}.",
            actor=api_key_actor(api_key) if api_key else actors.system_actor("identification"),
            api_key=api_key,
        )
    upgrade = [
        row.pk for row in stored if not row.verified and by_key[(row.kind, row.value)].verified
    ]
    Identifier.objects.filter(pk__in=upgrade).update(verified=True)

    existing = {(row.kind, row.value) for row in stored}
    for item in presented:
        if (item.kind, item.value) not in existing:
            Identifier.objects.create(
                merchant=merchant,
                customer=survivor,
                kind=item.kind,
                value=item.value,
                verified=False,
                source_channel=channel,
                first_seen_at=now,
                last_seen_at=now,
            )
    current = {
        (row.kind, row.value): row
        for row in Identifier.objects.filter(customer=survivor, removed_at__isnull=True).order_by(
            "pk"
        )
    }
    answer = [
        _answer(
            current[(item.kind, item.value)],
            IdentifierStatus.MATCHED
            if (item.kind, item.value) in existing
            else IdentifierStatus.ATTACHED,
        )
        for item in presented
    ]
    outcome = Outcome.MERGED if len(matches) > 1 else Outcome.MATCHED
    return Identification(survivor, outcome, None, answer)


def _identify_nobody(
    *,
    merchant: Merchant,
    presented: list[PresentedIdentifier],
    channel: str,
    create: bool,
    names: tuple[str, str],
) -> Identification:
    if not create:
        return Identification(
            None, Outcome.UNKNOWN, None, [_answer(i, IdentifierStatus.UNKNOWN) for i in presented]
        )
    customer = Customer.objects.create(merchant=merchant, first_name=names[0], last_name=names[1])
    now = timezone.now()
    rows = [
        Identifier.objects.create(
            merchant=merchant,
            customer=customer,
            kind=item.kind,
            value=item.value,
            verified=item.verified,
            source_channel=channel,
            first_seen_at=now,
            last_seen_at=now,
        )
        for item in presented
    ]
    return Identification(
        customer, Outcome.CREATED, None, [_answer(row, IdentifierStatus.ATTACHED) for row in rows]
    )


def _answer(
    item: Identifier | PresentedIdentifier, status: IdentifierStatus
) -> IdentifiedIdentifier:
    return IdentifiedIdentifier(item.kind, item.value, item.verified, status)


def _conflict_record(
    *,
    merchant: Merchant,
    matches: Sequence[CustomerMatch],
    presented: Sequence[PresentedIdentifier],
    channel: str,
    api_key: ApiKey | None,
    now: datetime,
) -> IdentityConflict:
    """Record the conflict for review, or count one more sighting of the same open conflict."""
    customer_ids = sorted(match.customer.pk for match in matches)
    key = ",".join(str(pk) for pk in customer_ids)
    conflict = (
        IdentityConflict.objects.select_for_update()
        .filter(merchant=merchant, customer_key=key, status=IdentityConflict.Status.OPEN)
        .first()
    )
    if conflict is not None:
        conflict.occurrences = models.F("occurrences") + 1
        conflict.last_seen_at = now
        conflict.save(update_fields=["occurrences", "last_seen_at"])
        conflict.refresh_from_db()
        return conflict
    conflict = IdentityConflict.objects.create(
        merchant=merchant,
        customer_key=key,
        best_match=matches[0].customer,
        presented=[
            {"kind": item.kind, "value": item.value, "verified": item.verified}
            for item in presented
        ],
        channel=channel,
        api_key=api_key,
        last_seen_at=now,
    )
    conflict.customers.set(customer_ids)
    return conflict
