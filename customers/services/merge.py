"""Merge and unmerge: the customers app orchestrates, each app's privacy handler moves its rows.

customers locks both customers (`customers.lock_objects`), then calls every registered
`CustomerDataHandler.merge` in dependency order; each handler moves its own rows under its own
row locks and reports what moved, which the merge audit (`CustomerMerge.moved`) records so an
unmerge can move exactly those rows back.
"""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from customers.errors import (
    ConflictAlreadyResolved,
    CustomersAlreadyMerged,
    MergeAcrossMerchants,
    MergeAlreadyUndone,
    MergeCustomerErased,
    SurvivorMergedAgain,
)
from customers.lock_objects import customers_lock, customers_lock_survivors
from customers.models import (
    Customer,
    CustomerAccessGrant,
    CustomerMerge,
    IdentityConflict,
)
from customers.privacy.contract import moved_of, privacy_handlers
from merchants.models import ApiKey


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    absorbed: Customer,
    reason: str,
    source: str,
    actor: str,
    api_key: ApiKey | None = None,
    user: User | None = None,
) -> CustomerMerge:
    """Merge `absorbed` into `survivor` and return the audit record.

    Either may have been merged meanwhile: both are followed to their survivors under lock, so
    tills merging overlapping customers at once each merge what is still separate.
    """
    locked = customers_lock_survivors(customer_ids=[survivor.pk, absorbed.pk], allow_erased=True)
    kept, gone = locked[survivor.pk], locked[absorbed.pk]
    if kept.pk == gone.pk:
        raise CustomersAlreadyMerged
    return merge_locked(
        survivor=kept,
        absorbed=gone,
        source=source,
        reason=reason,
        actor=actor,
        api_key=api_key,
        user=user,
    )


def _isoformat(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _fromisoformat(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _absorb_access_grants(*, survivor: Customer, absorbed: Customer) -> list[dict[str, Any]]:
    """A key with grants on both keeps the survivor's, with the later expiry; the rest move
    (with the customers handler's merge)."""
    kept = {
        grant.api_key_id: grant
        for grant in CustomerAccessGrant.objects.select_for_update().filter(customer=survivor)
    }
    collisions = []
    for grant in CustomerAccessGrant.objects.select_for_update().filter(customer=absorbed):
        survivor_grant = kept.get(grant.api_key_id)
        if survivor_grant is None:
            continue
        before = survivor_grant.expires_at
        survivor_grant.expires_at = max(before, grant.expires_at)
        # The strong part stays the survivor's; the absorbed grant's is recorded for an unmerge.
        survivor_grant.save(update_fields=["expires_at"])
        collisions.append(
            {
                "api_key": grant.api_key_id,
                "granted_at": grant.granted_at.isoformat(),
                "expires_at": grant.expires_at.isoformat(),
                "loyalty_strong_until": _isoformat(grant.loyalty_strong_until),
                "wallet_strong_until": _isoformat(grant.wallet_strong_until),
                "survivor_grant": survivor_grant.pk,
                "survivor_expires_at_before": before.isoformat(),
                "survivor_expires_at_after": survivor_grant.expires_at.isoformat(),
            }
        )
        grant.delete()
    return collisions


def merge_locked(
    *,
    survivor: Customer,
    absorbed: Customer,
    source: str,
    reason: str,
    actor: str,
    api_key: ApiKey | None = None,
    user: User | None = None,
    conflict: IdentityConflict | None = None,
) -> CustomerMerge:
    """The merge itself; the caller holds the locks on both (live) customers."""
    if survivor.merchant_id != absorbed.merchant_id:
        raise MergeAcrossMerchants
    if survivor.erased_at is not None or absorbed.erased_at is not None:
        raise MergeCustomerErased
    collisions = _absorb_access_grants(survivor=survivor, absorbed=absorbed)
    moved = [
        move.as_dict()
        for handler in privacy_handlers()
        for move in handler.merge(absorbed=absorbed, survivor=survivor)
    ]
    absorbed.merged_into = survivor
    absorbed.save(update_fields=["merged_into", "updated_at"])
    return CustomerMerge.objects.create(
        merchant_id=survivor.merchant_id,
        survivor=survivor,
        absorbed=absorbed,
        source=source,
        reason=reason,
        actor=actor,
        api_key=api_key,
        user=user,
        conflict=conflict,
        moved=moved,
        grant_collisions=collisions,
    )


@transaction.atomic
def customer_unmerge(*, merge: CustomerMerge, reason: str, actor: str) -> CustomerMerge:
    """Undo a merge: each app's handler moves exactly the recorded rows back.

    Refused while something newer depends on the merge: the survivor was merged again, an
    identifier it moved was removed or moved on, or another moved row now belongs elsewhere.
    Rows added to the survivor after the merge stay with the survivor.
    """
    merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.unmerged_at is not None:
        raise MergeAlreadyUndone
    locked = {
        customer.pk: customer
        for customer in customers_lock(customer_ids=[merge.survivor_id, merge.absorbed_id])
    }
    survivor, absorbed = locked[merge.survivor_id], locked[merge.absorbed_id]
    if survivor.merged_into_id is not None:
        raise SurvivorMergedAgain
    if survivor.erased_at is not None or absorbed.erased_at is not None:
        raise MergeCustomerErased
    handlers = privacy_handlers()
    for handler in handlers:
        handler.unmerge_check(merge=merge, moved=moved_of(handler, merge.moved), survivor=survivor)
    for handler in handlers:
        handler.unmerge(moved=moved_of(handler, merge.moved), absorbed=absorbed)
    for collision in merge.grant_collisions:
        CustomerAccessGrant.objects.update_or_create(
            api_key_id=collision["api_key"],
            customer=absorbed,
            defaults={
                "granted_at": datetime.fromisoformat(collision["granted_at"]),
                "expires_at": datetime.fromisoformat(collision["expires_at"]),
                "loyalty_strong_until": _fromisoformat(collision.get("loyalty_strong_until")),
                "wallet_strong_until": _fromisoformat(collision.get("wallet_strong_until")),
            },
        )
        CustomerAccessGrant.objects.filter(
            pk=collision["survivor_grant"],
            expires_at=datetime.fromisoformat(collision["survivor_expires_at_after"]),
        ).update(expires_at=datetime.fromisoformat(collision["survivor_expires_at_before"]))
    absorbed.merged_into = None
    absorbed.save(update_fields=["merged_into", "updated_at"])
    merge.unmerged_at = timezone.now()
    merge.unmerged_by = actor
    merge.unmerge_reason = reason
    merge.save(update_fields=["unmerged_at", "unmerged_by", "unmerge_reason"])
    return merge


@transaction.atomic
def identity_conflict_resolve(
    *,
    conflict: IdentityConflict,
    merge: bool,
    actor: str,
    note: str = "",
    user: User | None = None,
) -> IdentityConflict:
    """Settle a reviewed conflict: merge its customers into the best match, or dismiss it."""
    # Customers first, then the conflict row: the order identification locks them in.
    customer_ids = list(conflict.customers.values_list("pk", flat=True))
    locked = customers_lock_survivors(customer_ids=customer_ids, allow_erased=True) if merge else {}
    conflict = IdentityConflict.objects.select_for_update().get(pk=conflict.pk)
    if conflict.status != IdentityConflict.Status.OPEN:
        raise ConflictAlreadyResolved
    if merge:
        survivor = locked[conflict.best_match_id]
        for customer in {c.pk: c for c in locked.values()}.values():
            if customer.pk != survivor.pk:
                merge_locked(
                    survivor=survivor,
                    absorbed=customer,
                    source=CustomerMerge.Source.ADMIN,
                    reason=note or f"Reviewed identity conflict #{conflict.pk}.",
                    actor=actor,
                    user=user,
                    conflict=conflict,
                )
    conflict.status = IdentityConflict.Status.MERGED if merge else IdentityConflict.Status.DISMISSED
    conflict.resolved_at = timezone.now()
    conflict.resolved_by = actor
    conflict.resolution_note = note
    conflict.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])
    return conflict
