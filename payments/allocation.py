"""Refund allocation policies: which tenders give back how much of a refund (pure, no I/O).

`reverse` (the default) gives back the last tender first, `pro_rata` in proportion to what each
tender can still refund, `explicit` as the caller lists it; every policy answers
{tender pk: amount} over the payment's captured tenders.
"""

from moneyed import Money

from config.money import from_minor_units, money_json, to_minor_units
from payments.errors import InvalidAllocation, RefundExceedsRefundable
from payments.models import Refund, Tender


def refundable_amount(tender: Tender) -> Money:
    return tender.captured_amount - tender.refunded_amount


def allocate_reverse(tenders: list[Tender], amount: Money) -> dict[int, Money]:
    """Last tender first: card and cash go back before stored value; vouchers last."""
    remaining = amount
    allocation = {}
    for tender in reversed(tenders):
        take = min(refundable_amount(tender), remaining)
        if take.amount > 0:
            allocation[tender.pk] = take
            remaining -= take
    return allocation


def allocate_pro_rata(tenders: list[Tender], amount: Money) -> dict[int, Money]:
    """Shares proportional to what each tender can still refund, in minor units, the cents that
    rounding leaves over going to the largest remainders (ties: later tenders first)."""
    currency = amount.currency.code
    refundable = {t.pk: to_minor_units(refundable_amount(t)) for t in tenders}
    total = sum(refundable.values())
    target = to_minor_units(amount)
    shares = {pk: target * units // total for pk, units in refundable.items()}
    leftovers = sorted(
        refundable, key=lambda pk: (target * refundable[pk] % total, pk), reverse=True
    )
    for pk in leftovers[: target - sum(shares.values())]:
        shares[pk] += 1
    return {pk: from_minor_units(units, currency) for pk, units in shares.items() if units}


def allocate_explicit(
    tenders: list[Tender], amount: Money, explicit: list[tuple[str, Money]]
) -> dict[int, Money]:
    by_public_id = {str(t.public_id): t for t in tenders}
    allocation: dict[int, Money] = {}
    for index, (tender_id, share) in enumerate(explicit):
        tender = by_public_id.get(tender_id)
        if tender is None or tender.pk in allocation:
            raise InvalidAllocation(field=f"allocations[{index}].tender")
        if share.currency != amount.currency or share > refundable_amount(tender):
            raise RefundExceedsRefundable(
                field=f"allocations[{index}].amount",
                meta={"refundable": money_json(refundable_amount(tender))},
            )
        allocation[tender.pk] = share
    if sum(allocation.values(), Money(0, amount.currency)) != amount:
        raise InvalidAllocation(
            "The allocations must add up to the refund amount.", field="allocations"
        )
    return allocation


def refund_allocation(
    *, policy: str, tenders: list[Tender], amount: Money, explicit: list[tuple[str, Money]]
) -> dict[int, Money]:
    """The allocation the refund's `policy` makes."""
    if policy == Refund.Policy.EXPLICIT:
        return allocate_explicit(tenders, amount, explicit)
    if policy == Refund.Policy.PRO_RATA:
        return allocate_pro_rata(tenders, amount)
    return allocate_reverse(tenders, amount)
