"""Card figures from Stripe: the one call into payments' balance-transaction matching.

`payments.stripe_reconcile` makes network calls, so it is called before the settlement's
transaction opens and its report is handed to the compute step. Until that module is present
(it is built on its own branch) settlements carry no Stripe figures rather than made-up ones.
"""

from datetime import datetime
from typing import Any

from merchants.models import Merchant

try:
    from payments.stripe_reconcile import (  # type: ignore[import-not-found,unused-ignore]
        stripe_balance_match,
    )
except ModuleNotFoundError:  # pragma: no cover - present once both branches are merged
    stripe_balance_match = None


def stripe_available() -> bool:
    return stripe_balance_match is not None


def stripe_report(*, merchant: Merchant, since: datetime, until: datetime) -> Any | None:
    """The StripeMatchReport of the window, or None when matching is not available."""
    if stripe_balance_match is None:
        return None
    return stripe_balance_match(merchant=merchant, since=since, until=until)
