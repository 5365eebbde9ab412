"""Tender methods (one class each, in a registry) and what the engine does with all of a
payment's tenders at once: resolve, lock, charge set-based, and the loyalty earn."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q, Sum
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
from wallet.ledger import Move, ledger_write, system_accounts
from wallet.lock_objects import lock_ledger_accounts, lock_vouchers
from wallet.models import LedgerAccount, LoyaltyAccount, LoyaltyLot, LoyaltyProgramme, Transfer
from wallet.pricing import points_earned, points_to_reverse
from wallet.selectors import loyalty_account_primary

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
    payment: Payment | None = None,
) -> None:
    """Lock every wallet row these tenders (and a points earn, and the cards `payment`'s basket
    reloads) touch, in the canonical order (instrument ledger accounts by pk, then vouchers by
    pk)."""
    account_ids = [pk for t in tenders for pk in method_for(t.method).locks(t)]
    if earning is not None:
        account_ids.append(earning.account_id)
    if payment is not None and payment.basket:
        account_ids += gift_card_reload_accounts(
            merchant_id=payment.merchant_id, basket=payment.basket
        )
    lock_ledger_accounts(account_ids)
    lock_vouchers(t.voucher_id for t in tenders if t.voucher_id)


def charge_all(
    tenders: list[Tender],
    ctx: ChargeContext,
    *,
    payment: Payment | None = None,
    earning: LoyaltyAccount | None = None,
) -> None:
    """Take every tender's value, and (a sale captured at once) the points it earns, in one
    set-based ledger write: each instrument account locked once, in pk order, by its UPDATE.
    Vouchers reserve their use under the voucher's lock first (its limits). A sale that
    reloads gift cards locks their accounts first, with the others, in the canonical order."""
    if payment is not None and payment.basket:
        lock_wallet_rows(tenders, earning=earning, payment=payment)
    units = {(LedgerAccount.Kind.REDEMPTION_CLEARING, t.amount.currency.code) for t in tenders}
    units |= {
        (LedgerAccount.Kind.REDEMPTION_CLEARING, t.loyalty_account.programme.unit)
        for t in tenders
        if t.loyalty_account is not None
    }
    if earning is not None:
        units.add((LedgerAccount.Kind.POINTS_EXPENSE, earning.programme.unit))
    ctx.systems.update(system_accounts(merchant_id=ctx.merchant_id, wanted=units))
    planned = [(tender, method_for(tender.method).charge(tender, ctx)) for tender in tenders]
    moves = [move for _, tender_moves in planned for move in tender_moves]
    earn = _earn_move(payment, tenders, earning, ctx) if payment is not None else None
    try:
        transfers = iter(ledger_write([*moves, *([earn] if earn else [])]))
    except InsufficientFunds as error:
        for tender, tender_moves in planned:
            if any(m.debit.pk == getattr(error, "account_id", None) for m in tender_moves):
                error.field = f"tenders[{tender.sequence - 1}].amount"
        raise
    for tender, tender_moves in planned:
        written = [next(transfers) for _ in tender_moves]
        method_for(tender.method).charged(tender, written, ctx)
    if earn is not None and payment is not None and earning is not None:
        payment.loyalty_earn_transfer = next(transfers)
        payment.points_earned = int(earn.amount)
        LoyaltyLot.objects.create(
            account=earning,
            transfer=payment.loyalty_earn_transfer,
            points=payment.points_earned,
            expires_at=_lot_expiry(earning.programme),
        )


def _lot_expiry(programme: LoyaltyProgramme) -> datetime | None:
    if programme.points_validity_days is None:
        return None
    return timezone.now() + timedelta(days=programme.points_validity_days)


def _earn_move(
    payment: Payment, tenders: list[Tender], earning: LoyaltyAccount | None, ctx: ChargeContext
) -> Move | None:
    spend = _spend(payment, tenders, captured=not ctx.at_once)
    if earning is None or earning.closed_at is not None or spend.amount <= 0:
        return None
    points = points_earned(spend=spend, earn_rate=earning.programme.earn_rate)
    if points == 0:
        return None
    return Move(
        kind=Transfer.Kind.POSTED,
        debit=ctx.system(LedgerAccount.Kind.POINTS_EXPENSE, earning.programme.unit),
        credit=earning.account,
        amount=Decimal(points),
        code=Transfer.Code.EARN,
        reference=f"payment:{payment.public_id}",
        actor=ctx.actor,
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
    customer = customer or payment.customer
    if customer is None:
        return None
    for tender in tenders or []:
        if tender.loyalty_account is not None:
            return tender.loyalty_account
    programme = LoyaltyProgramme.objects.filter(
        merchant_id=payment.merchant_id, currency=payment.amount.currency.code
    ).first()
    if programme is None:
        return None
    return loyalty_account_primary(customer=customer, programme=programme)


def loyalty_earn(
    payment: Payment, tenders: list[Tender], account: LoyaltyAccount | None, *, actor: str
) -> int:
    """Points for what the customer paid with money, at a capture after authorisation."""
    if account is None:
        return 0
    spend = _spend(payment, tenders)
    if spend.amount <= 0:
        return 0
    earn = wallet.loyalty_earn(
        account=account, spend=spend, reference=f"payment:{payment.public_id}", actor=actor
    )
    if earn is None:
        return 0
    payment.loyalty_earn_transfer = earn
    return int(earn.amount)


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
