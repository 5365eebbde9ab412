"""Settlements: compute a store's business day per till and currency (`compute`), the figures
beside its lines (`figures`), close and reconcile it (`lifecycle`)."""

from reconciliation.services.compute import settlement_compute, settlements_compute_day
from reconciliation.services.lifecycle import settlement_close, settlement_reconcile

__all__ = [
    "settlement_close",
    "settlement_compute",
    "settlement_reconcile",
    "settlements_compute_day",
]
