"""The split-tender planner: a pure function from a request to an ordered plan, no I/O.

Order: vouchers first (their rules look at the whole basket), then stored value (gift cards,
loyalty points) in the order given, then card, cash and the till's own card terminal for the
remainder. A tender without an amount takes "as much as it covers" (stored value) or "the
remainder" (card/cash; at most one such). The planned amounts must add up to the payment amount
exactly. Every problem is reported at once, one error per tender, before anything is written.
"""

from dataclasses import dataclass, field
from typing import Any

from moneyed import Money

from config.errors import KassaError
from config.money import money_json
from payments.errors import (
    AmbiguousRemainder,
    MethodNotAllowedOnChannel,
    NoTenders,
    PaymentRejected,
    TenderNotNeeded,
    TenderSumMismatch,
)
from wallet.errors import CurrencyMismatch, InsufficientFunds


@dataclass(frozen=True)
class Source:
    """One requested tender after its instrument was found: what it may cover at most.

    `cap` is the available balance (stored value), the discount the voucher grants, or None
    for methods without a limit known in advance (card, cash, the till's terminal).
    """

    index: int
    method: str
    currency: str
    requested: Money | None = None
    cap: Money | None = None

    @property
    def traits(self) -> Any:
        """The method's class (rank, remainder, till_only, stored_value), from the registry."""
        from payments.methods.base import method_for  # the registry imports this module

        return method_for(self.method)


@dataclass(frozen=True)
class PlannedTender:
    source: Source
    amount: Money


@dataclass
class _Errors:
    items: list[KassaError] = field(default_factory=list)

    def add(self, source: Source, error: type[KassaError], detail: str, **meta: Any) -> None:
        self.items.append(error(detail, field=f"tenders[{source.index}]", meta=meta or None))


def plan_tenders(*, amount: Money, channel: str, sources: list[Source]) -> list[PlannedTender]:
    errors = _Errors()
    currency = amount.currency.code
    if not sources:
        raise PaymentRejected(errors=[NoTenders(field="tenders")])
    for source in sources:
        if source.currency != currency:
            errors.add(
                source,
                CurrencyMismatch,
                f"This tender is in {source.currency}; the payment is in {currency}.",
            )
        if source.traits.till_only and channel != "pos":
            errors.add(source, MethodNotAllowedOnChannel, f"{source.method} is for tills only.")
    open_remainders = [s for s in sources if s.traits.remainder and s.requested is None]
    for extra in open_remainders[1:]:
        errors.add(extra, AmbiguousRemainder, AmbiguousRemainder.default_detail)
    if errors.items:
        raise PaymentRejected(errors=errors.items)

    planned: list[PlannedTender] = []
    remaining = amount
    zero = Money(0, currency)
    for source in sorted(sources, key=lambda s: (s.traits.rank, s.index)):
        if source.traits.remainder and source.requested is None:
            continue  # takes what is left once everything else is planned
        take = source.requested
        if source.cap is not None:
            # An empty instrument is short of funds (the customer needs another tender or a
            # reload), not a tender the basket does not need.
            empty = source.traits.stored_value and source.cap <= zero
            if (take is None and empty) or (take is not None and take > source.cap):
                errors.add(
                    source,
                    InsufficientFunds,
                    f"Only {source.cap} is available on this instrument.",
                    available=money_json(source.cap),
                )
                continue
            if take is None:
                take = min(source.cap, max(remaining, zero))
        if take is None or take <= zero:
            errors.add(source, TenderNotNeeded, TenderNotNeeded.default_detail)
            continue
        planned.append(PlannedTender(source=source, amount=take))
        remaining -= take
    if open_remainders:
        source = open_remainders[0]
        if remaining <= zero:
            errors.add(source, TenderNotNeeded, TenderNotNeeded.default_detail)
        else:
            planned.append(PlannedTender(source=source, amount=remaining))
            remaining = zero
    if errors.items:
        raise PaymentRejected(errors=errors.items)
    if remaining != zero:
        mismatch = TenderSumMismatch(
            f"The tenders add up to {amount - remaining}, the payment is {amount}.",
            field="tenders",
            meta={"difference": money_json(remaining)},
        )
        raise PaymentRejected(errors=[mismatch])
    return planned
