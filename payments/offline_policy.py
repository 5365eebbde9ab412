"""What a till may do while it cannot reach Kassa, decided here and cached on the till.

Cash and external-terminal cards need nothing from the server, so they are always allowed;
anything that spends a wallet (saved cards, points, vouchers) needs the server's ledger and
never is, except gift cards by code and PIN within the till's offline allowance
(tills.offline_value), which the till's policy lists. The caps bound what a till can owe the
books before it syncs; `currencies` sets them per currency (a currency not listed has the
top-level ones). Settings (`KASSA_TILL_OFFLINE`) override the defaults below.
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
    "currencies": {},
}
# A till's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class OfflinePolicy:
    methods: tuple[str, ...]
    max_sale: Decimal
    max_total: Decimal
    max_age: timedelta
    currencies: dict[str, dict[str, Decimal]]

    def caps(self, currency: str) -> dict[str, Decimal]:
        return {
            "max_sale": self.max_sale,
            "max_total": self.max_total,
            **self.currencies.get(currency, {}),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "methods": list(self.methods),
            "max_sale": str(self.max_sale),
            "max_total": str(self.max_total),
            "max_age_hours": int(self.max_age.total_seconds() // 3600),
            "currencies": {
                code: {name: str(value) for name, value in self.caps(code).items()}
                for code in sorted(self.currencies)
            },
        }


def offline_policy() -> OfflinePolicy:
    values = {**DEFAULTS, **getattr(settings, "KASSA_TILL_OFFLINE", {})}
    return OfflinePolicy(
        methods=ALWAYS_OFFLINE,
        max_sale=Decimal(values["max_sale"]),
        max_total=Decimal(values["max_total"]),
        max_age=timedelta(hours=int(values["max_age_hours"])),
        currencies={
            code: {name: Decimal(value) for name, value in caps.items()}
            for code, caps in values["currencies"].items()
        },
    )


def is_late(occurred_at: datetime | None, *, now: datetime | None = None) -> bool:
    """A replay older than the policy allows: still accepted (the money changed hands), but
    flagged for the back office."""
    if occurred_at is None:
        return False
    return occurred_at < (now or timezone.now()) - offline_policy().max_age
