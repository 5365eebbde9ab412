"""What a till may do while it cannot reach Kassa, decided here and cached on the till.

Cash and external-terminal cards need nothing from the server, so they are always allowed;
anything that spends a wallet (gift cards, saved cards, points, vouchers) needs the server's
ledger and never is. The caps bound what a till can owe the books before it syncs. Settings
(`KASSA_TILL_OFFLINE`) override the defaults below.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

ALWAYS_OFFLINE = ("cash", "external_card")
DEFAULTS: dict[str, Any] = {
    "max_sale": "200.00",
    "max_total": "1000.00",
    "max_age_hours": 72,
}
# A till's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class OfflinePolicy:
    methods: tuple[str, ...]
    max_sale: Decimal
    max_total: Decimal
    max_age: timedelta

    def as_json(self) -> dict[str, Any]:
        return {
            "methods": list(self.methods),
            "max_sale": str(self.max_sale),
            "max_total": str(self.max_total),
            "max_age_hours": int(self.max_age.total_seconds() // 3600),
        }


def offline_policy() -> OfflinePolicy:
    values = {**DEFAULTS, **getattr(settings, "KASSA_TILL_OFFLINE", {})}
    return OfflinePolicy(
        methods=ALWAYS_OFFLINE,
        max_sale=Decimal(values["max_sale"]),
        max_total=Decimal(values["max_total"]),
        max_age=timedelta(hours=int(values["max_age_hours"])),
    )


def is_late(occurred_at: datetime | None, *, now: datetime | None = None) -> bool:
    """A replay older than the policy allows: still accepted (the money changed hands), but
    flagged for the back office."""
    if occurred_at is None:
        return False
    return occurred_at < (now or timezone.now()) - offline_policy().max_age
