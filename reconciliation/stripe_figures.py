"""Card figures from Stripe: the one call into payments' balance-transaction matching.

`payments.stripe_reconcile` makes network calls, so it is called before the settlement's
transaction opens and its report is handed to the compute step. It is built on its own branch:
until both are merged, settlements carry no Stripe figures rather than made-up ones (once
merged, the import below can become a plain `from payments.stripe_reconcile import ...`).
"""

import importlib
import importlib.util
from datetime import datetime
from typing import Any

from merchants.models import Merchant


def _available() -> bool:
    return importlib.util.find_spec("payments.stripe_reconcile") is not None


def stripe_report(*, merchant: Merchant, since: datetime, until: datetime) -> Any | None:
    """The StripeMatchReport of the window, or None when matching is not available."""
    if not _available():
        return None
    module = importlib.import_module("payments.stripe_reconcile")
    return module.stripe_balance_match(merchant=merchant, since=since, until=until)
