"""Closing and reconciling a settlement: lock the row, then check."""

from django.db import transaction
from django.utils import timezone

from reconciliation import selectors
from reconciliation.errors import (
    SettlementAlreadyClosed,
    SettlementDayNotOver,
    SettlementLocked,
    SettlementPaymentsPending,
    SettlementReasonRequired,
)
from reconciliation.models import Settlement
from reconciliation.selectors import day_window


def _locked_for_update(settlement: Settlement) -> Settlement:
    return Settlement.objects.select_for_update(of=("self",)).order_by("pk").get(pk=settlement.pk)


@transaction.atomic
def settlement_close(*, settlement: Settlement, actor: str) -> Settlement:
    """The day's figures are final as far as the store is concerned; closing twice is a
    conflict."""
    settlement = _locked_for_update(settlement)
    if settlement.is_locked:
        raise SettlementLocked()
    if settlement.status == Settlement.Status.CLOSED:
        raise SettlementAlreadyClosed()
    settlement.status = Settlement.Status.CLOSED
    settlement.closed_at = timezone.now()
    settlement.closed_by = actor
    settlement.save(update_fields=["status", "closed_at", "closed_by"])
    return settlement


@transaction.atomic
def settlement_reconcile(*, settlement: Settlement, actor: str, reason: str = "") -> Settlement:
    """Accept the day (closing it if open): its figures must have been computed after the day
    ended (else a sale of its last hours is missing); differences need a reason; a payment or
    refund of the day still moving refuses it, listing them. The row is locked from then on."""
    settlement = _locked_for_update(settlement)
    if settlement.is_locked:
        raise SettlementLocked()
    start, end = day_window(zone=settlement.timezone, business_day=settlement.business_day)
    if settlement.computed_at < end:
        raise SettlementDayNotOver(meta={"day_ends_at": end.isoformat()})
    pending = selectors.pending_payments(settlement=settlement, start=start, end=end)
    if pending:
        raise SettlementPaymentsPending(
            f"{len(pending)} payment(s) of the day are not final yet.", meta={"payments": pending}
        )
    reason = reason.strip()
    if settlement.differences and not reason:
        raise SettlementReasonRequired(field="reason")
    now = timezone.now()
    if settlement.status == Settlement.Status.OPEN:
        settlement.closed_at, settlement.closed_by = now, actor
    settlement.status = (
        Settlement.Status.RECONCILED_WITH_DIFFERENCES
        if settlement.differences
        else Settlement.Status.RECONCILED
    )
    settlement.reconciled_at = now
    settlement.accepted_by = actor
    settlement.reason = reason
    settlement.save()
    return settlement
