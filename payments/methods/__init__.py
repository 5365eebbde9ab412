"""Tender methods (one class each, in a registry) and what the engine does with all of a
payment's tenders at once: resolve, lock, charge set-based, and the loyalty earn."""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q, Subquery, Sum
from django.utils import timezone
from moneyed import Money

from customers.models import Customer
from merchants.models import ApiKey
from payments.errors import PaymentRejected
from payments.gift_card_lines import gift_card_reload_accounts
from payments.methods import external, stored_value  # noqa: F401  (registers them)
from payments.methods.base import (
    ChargeContext,
    ResolveContext,
    ResolvedTender,
    TenderMethod,
    each_error,
    method_for,
    register,
    registered,
    unregister,
)
from payments.models import Payment, Refund, Tender
from wallet import services as wallet
from wallet.errors import CodeAttemptsLocked, InsufficientFunds
from wallet.ledger import Move, holds_resolve, ledger_write
from wallet.lock_objects import lock_ledger_accounts, lock_vouchers
from wallet.models import LedgerAccount, LoyaltyAccount, LoyaltyLot, LoyaltyProgramme, Transfer
from wallet.pricing import points_earned, points_to_reverse
from wallet.selectors import instruments_unusable, loyalty_account_primary
from wallet.system_accounts import system_accounts

if TYPE_CHECKING:
    from payments.services.common import PaymentRequest, TenderRequest

__all__ = [
    "ChargeContext",
    "ResolvedTender",
    "TenderMethod",
    "method_for",
    "register",
    "registered",
    "unregister",
]


def resolve_tenders(
    *, api_key: ApiKey, request: "PaymentRequest", client_ip: str | None
) -> list[ResolvedTender]:
    """Find every instrument; all problems are reported together, one per tender."""
    ctx = ResolveContext(api_key=api_key, request=request, client_ip=client_ip)

    def resolve(index: int, tender: "TenderRequest") -> ResolvedTender:
        return method_for(tender.method).resolve(ctx, index, tender)

    try:
        resolved, errors = each_error(request.tenders, resolve)
    except CodeAttemptsLocked:
        raise
    if errors:
        raise PaymentRejected(errors=errors)
    return resolved


def lock_wallet_rows(
    tenders: list[Tender],
    *,
    earning: LoyaltyAccount | None = None,
    also: list[int] | None = None,
) -> None:
    """Lock every wallet row these tenders (and a points earn, and the accounts `also` names:
    cards a basket reloads) touch, in the canonical order (instrument ledger accounts by pk,
    then vouchers by pk)."""
    account_ids = [pk for t in tenders for pk in method_for(t.method).locks(t)]
    if earning is not None:
        account_ids.append(earning.account_id)
    lock_ledger_accounts([*account_ids, *(also or [])])
    lock_vouchers(t.voucher_id for t in tenders if t.voucher_id)


def charge_all(
    tenders: list[Tender],
    ctx: ChargeContext,
    *,
    payment: Payment | None = None,
    earning: LoyaltyAccount | None = None,
) -> LoyaltyLot | None:
    """Take every tender's value, and (a sale captured at once) the points it earns, in one
    set-based ledger write: each instrument account locked once, in pk order, by its UPDATE.
    Returns the earn's points lot, not saved: the sale inserts it with the payment.
    Then each method re-checks under those locks (`locked`): vouchers record their use under
    the voucher's lock (its limits), after the accounts, as the canonical order has it. A sale
    that reloads gift cards locks their accounts first, with the others, in that order."""
    reloads = (
        gift_card_reload_accounts(merchant_id=payment.merchant_id, basket=payment.basket)
        if payment is not None and payment.basket
        else []
    )
    if reloads:
        lock_wallet_rows(tenders, earning=earning, also=reloads)
    units = {unit for tender in tenders for unit in method_for(tender.method).systems(tender)}
    if earning is not None:
        units.add((LedgerAccount.Kind.POINTS_EXPENSE, earning.programme.unit))
    ctx.systems.update(system_accounts(merchant_id=ctx.merchant_id, wanted=units))
    planned = [(tender, method_for(tender.method).charge(tender, ctx)) for tender in tenders]
    moves = [move for _, tender_moves in planned for move in tender_moves]
    earn = None
    if payment is not None:
        earn = _earn_move(
            payment,
            tenders,
            earning,
            expense=ctx.system,
            actor=ctx.actor,
            captured=not ctx.at_once,
        )
    try:
        transfers = iter(ledger_write([*moves, *([earn] if earn else [])]))
    except InsufficientFunds as error:
        for tender, tender_moves in planned:
            if any(m.debit.pk == getattr(error, "account_id", None) for m in tender_moves):
                error.field = ctx.field_of(tender, "amount")
        raise
    by_method: dict[str, list[Tender]] = {}
    for tender, tender_moves in planned:
        written = [next(transfers) for _ in tender_moves]
        method_for(tender.method).charged(tender, written, ctx)
        by_method.setdefault(tender.method, []).append(tender)
    _recheck_instruments(tenders, ctx)
    for name, of_method in by_method.items():
        method_for(name).locked(of_method, ctx)
    if earn is not None and payment is not None and earning is not None:
        return _earned(payment, earning, next(transfers))
    return None


def _recheck_instruments(tenders: list[Tender], ctx: ChargeContext) -> None:
    """A gift card blocked or expired, a loyalty account closed, after `resolve` read it: its
    status changes under its account's lock, which the write now holds, so one read of every
    spent instrument now has the last word."""
    spent = {pk: tender for tender in tenders for pk in method_for(tender.method).locks(tender)}
    if not spent:
        return
    refusals = instruments_unusable(account_ids=sorted(spent), at=timezone.now())
    for pk, tender in spent.items():
        if (error := refusals.get(pk)) is not None:
            error.field = ctx.field_of(tender, error.field)
            raise error


def _earned(payment: Payment, earning: LoyaltyAccount, transfer: Transfer) -> LoyaltyLot:
    """A points earn written with the payment's other moves: set on the payment, and its lot
    (not saved: a sale inserts it with the payment)."""
    payment.loyalty_earn_transfer = transfer
    payment.points_earned = int(transfer.amount)
    return LoyaltyLot(
        account=earning,
        transfer=transfer,
        points=payment.points_earned,
        expires_at=_lot_expiry(earning.programme),
    )


def settle_all(
    tenders: list[Tender], *, payment: Payment, earning: LoyaltyAccount | None, actor: str
) -> None:
    """At capture: post (or void) every tender's hold and earn the points in one set-based
    ledger write, under one lock of every wallet row in the canonical order (instrument
    accounts by pk, the cards the basket reloads among them, then vouchers, then their uses
    and holds)."""
    hold_ids = [t.wallet_transfer_id for t in tenders if t.wallet_transfer_id]
    holds = Transfer.objects.select_related("resolution").in_bulk(hold_ids)
    account_ids = [pk for t in tenders for pk in method_for(t.method).locks(t)]
    account_ids += [pk for h in holds.values() for pk in (h.debit_account_id, h.credit_account_id)]
    if earning is not None:
        account_ids.append(earning.account_id)
    if payment.basket:  # the cards it reloads, fulfilled in the same transaction
        account_ids += gift_card_reload_accounts(
            merchant_id=payment.merchant_id, basket=payment.basket
        )
    accounts = lock_ledger_accounts(account_ids)
    lock_vouchers(t.voucher_id for t in tenders if t.voucher_id)
    by_method: dict[str, list[Tender]] = {}
    for tender in tenders:
        by_method.setdefault(tender.method, []).append(tender)
    resolutions = [
        resolution
        for name, of_method in by_method.items()
        for resolution in method_for(name).settlements(of_method, holds=holds, actor=actor)
    ]

    def expense(kind: str, unit: str) -> LedgerAccount:
        return system_accounts(merchant_id=payment.merchant_id, wanted=[(kind, unit)])[(kind, unit)]

    earn = _earn_move(payment, tenders, earning, expense=expense, actor=actor, captured=True)
    if earning is not None and earn is not None:
        accounts.setdefault(earning.account_id, earning.account)
    written = holds_resolve(
        resolutions,
        actor=actor,
        reason="not captured",
        also=[earn] if earn is not None else [],
        locked=accounts,
    )
    if earn is not None and earning is not None:
        _earned(payment, earning, written[-1]).save()


def _lot_expiry(programme: LoyaltyProgramme) -> datetime | None:
    if programme.points_validity_days is None:
        return None
    return timezone.now() + timedelta(days=programme.points_validity_days)


def _earn_move(
    payment: Payment,
    tenders: list[Tender],
    earning: LoyaltyAccount | None,
    *,
    expense: Callable[[str, str], LedgerAccount],
    actor: str,
    captured: bool,
) -> Move | None:
    """The points what the customer paid with money earns (points expense -> account), if
    any: a closed account earns nothing."""
    spend = _spend(payment, tenders, captured=captured)
    if earning is None or earning.closed_at is not None or spend.amount <= 0:
        return None
    points = points_earned(spend=spend, earn_rate=earning.programme.earn_rate)
    if points == 0:
        return None
    return Move(
        kind=Transfer.Kind.POSTED,
        debit=expense(LedgerAccount.Kind.POINTS_EXPENSE, earning.programme.unit),
        credit=earning.account,
        amount=Decimal(points),
        code=Transfer.Code.EARN,
        reference=f"payment:{payment.public_id}",
        actor=actor,
    )


def _spend(payment: Payment, tenders: list[Tender], *, captured: bool = True) -> Money:
    """What the customer paid with money (not with points or vouchers): what earns points."""
    currency = payment.amount.currency.code
    return sum(
        (
            t.captured_amount if captured else t.amount
            for t in tenders
            if method_for(t.method).earns_points
        ),
        Money(0, currency),
    )


def holds_intact(tenders: list[Tender]) -> bool:
    """True while every wallet hold of these tenders is pending and not past its time-out."""
    hold_ids = [t.wallet_transfer_id for t in tenders if t.wallet_transfer_id]
    intact = Transfer.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
        pk__in=hold_ids,
        resolution__isnull=True,
    ).count()
    return intact == len(hold_ids)


# -- loyalty earned on a sale ------------------------------------------------------------------


def earn_account_of(payment: Payment) -> LoyaltyAccount | None:
    """The account this payment's points were earned on (for taking them back), if any."""
    if payment.loyalty_earn_transfer_id is None:
        return None
    assert payment.loyalty_earn_transfer is not None
    return LoyaltyAccount.objects.get(account_id=payment.loyalty_earn_transfer.credit_account_id)


def loyalty_earn_account(
    payment: Payment, tenders: list[Tender] | None = None, customer: Customer | None = None
) -> LoyaltyAccount | None:
    """The customer's primary account in the payment's currency (a points tender already
    carries it), where the points of this payment are earned."""
    customer_id = customer.pk if customer is not None else payment.customer_id
    if customer_id is None:
        return None
    for tender in tenders or []:
        if tender.loyalty_account is not None:
            return tender.loyalty_account
    programme = LoyaltyProgramme.objects.filter(
        merchant_id=payment.merchant_id, currency=payment.amount.currency.code
    ).values("pk")[:1]
    return loyalty_account_primary(customer=customer_id, programme=Subquery(programme))


def loyalty_reverse(payment: Payment, refund_row: Refund, *, actor: str) -> int:
    """Take back the share of earned points this refund brings the total refunded to."""
    if payment.loyalty_earn_transfer_id is None:
        return 0
    earlier = Refund.objects.filter(payment=payment, status=Refund.Status.SUCCEEDED).aggregate(
        points=Sum("points_reversed", default=0)
    )["points"]
    points = points_to_reverse(
        earned=payment.points_earned,
        captured=payment.captured_amount,
        refunded_total=payment.refunded_amount,
        already_reversed=earlier,
    )
    if not points:
        return 0
    assert payment.loyalty_earn_transfer is not None
    reversal = wallet.loyalty_earn_reverse(
        earn=payment.loyalty_earn_transfer,
        points=points,
        reference=f"refund:{refund_row.public_id}",
        actor=actor,
    )
    return reversal.points_reversed


def stripe_customer_id(tender: Tender) -> str | None:
    return tender.bank_card.stripe_customer_id if tender.bank_card_id and tender.bank_card else None
