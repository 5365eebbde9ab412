"""What each tender method means to the wallet: the engine's only door into it.

`resolve_tenders` finds and checks every requested instrument before anything is written (codes
are looked up under the wallet's guessing guard, outside any transaction); the other functions
run inside the engine's transactions, after `lock_wallet_rows` took the wallet's row locks in
its canonical order (instrument ledger accounts by pk, then vouchers by pk).

Rounding: loyalty points pay `points_to_money(points)` (rounded down); an amount paid in points
takes `money_to_points(amount)` points (rounded up); both rules are the wallet's (`pricing`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q, Sum
from django.utils import timezone
from moneyed import Money

from config.errors import KassaError
from customers.models import Customer, Strength
from customers.selectors import customer_presentation_check
from merchants.models import ApiKey
from payments.errors import CustomerRequired, InstrumentNotFound, PaymentRejected
from payments.models import Payment, Refund, RefundAllocation, Tender
from payments.planning import Source
from wallet import services as wallet
from wallet.errors import (
    CodeAttemptsLocked,
    HoldNotPending,
    InsufficientFunds,
    RedemptionNotReserved,
)
from wallet.guessing import code_guessing_guard
from wallet.lock_objects import lock_ledger_accounts, lock_vouchers
from wallet.models import BankCard, GiftCard, LoyaltyAccount, LoyaltyProgramme, Transfer, Voucher
from wallet.models import VoucherRedemption as Redemption
from wallet.pricing import money_to_points, points_to_money, points_to_reverse
from wallet.selectors import (
    gift_card_check_usable,
    gift_card_find,
    loyalty_account_primary,
    loyalty_points_value,
    voucher_evaluate,
    voucher_find,
)

if TYPE_CHECKING:
    from payments.services import PaymentRequest, TenderRequest


@dataclass
class ResolvedTender:
    """A requested tender with its instrument found and checked, ready to plan and bind."""

    source: Source
    request: "TenderRequest"
    gift_card: GiftCard | None = None
    voucher: Voucher | None = None
    loyalty_account: LoyaltyAccount | None = None
    bank_card: BankCard | None = None

    def bind(self, tender: Tender) -> None:
        tender.gift_card = self.gift_card
        tender.voucher = self.voucher
        tender.loyalty_account = self.loyalty_account
        tender.bank_card = self.bank_card
        tender.stripe_payment_method_id = (
            self.bank_card.payment_method_id
            if self.bank_card
            else self.request.payment_method or ""
        )
        tender.external_reference = self.request.reference
        if self.loyalty_account is not None:
            tender.points = self.request.points or money_to_points(
                value=tender.amount, point_value=self.loyalty_account.programme.point_value
            )


# -- resolution (before any write) ------------------------------------------------------------


def resolve_tenders(
    *, api_key: ApiKey, request: "PaymentRequest", client_ip: str | None
) -> list[ResolvedTender]:
    """Find every instrument; all problems are reported together, one per tender."""
    resolved: list[ResolvedTender] = []
    errors: list[KassaError] = []
    for index, tender in enumerate(request.tenders):
        try:
            resolved.append(
                _resolve(index, tender, api_key=api_key, request=request, client_ip=client_ip)
            )
        except CodeAttemptsLocked:
            raise
        except KassaError as error:
            error.field = f"tenders[{index}]" + (f".{error.field}" if error.field else "")
            errors.append(error)
    if errors:
        raise PaymentRejected(errors=errors)
    return resolved


def _resolve(
    index: int,
    tender: "TenderRequest",
    *,
    api_key: ApiKey,
    request: "PaymentRequest",
    client_ip: str | None,
) -> ResolvedTender:
    currency = request.amount.currency.code
    merchant_id = api_key.merchant_id
    customer = request.customer

    def source(currency: str, cap: Money | None = None, requested: Money | None = None) -> Source:
        return Source(
            index=index,
            method=tender.method,
            currency=currency,
            requested=requested if requested is not None else tender.amount,
            cap=cap,
        )

    if tender.method == Tender.Method.VOUCHER:
        assert tender.code is not None
        with code_guessing_guard(api_key_id=api_key.pk, client_ip=client_ip):
            voucher = voucher_find(merchant_id=merchant_id, code=tender.code)
        discount = voucher_evaluate(
            voucher=voucher, basket_total=request.amount, channel=request.channel, customer=customer
        )
        return ResolvedTender(source(voucher.currency, cap=discount), tender, voucher=voucher)

    if tender.method == Tender.Method.GIFT_CARD:
        if tender.code is not None:
            with code_guessing_guard(api_key_id=api_key.pk, client_ip=client_ip):
                card = gift_card_find(merchant_id=merchant_id, code=tender.code, pin=tender.pin)
        else:
            card = _owned(
                GiftCard.objects.select_related("account"),
                tender.gift_card,
                customer,
                api_key=api_key,
            )
        gift_card_check_usable(gift_card=card, at=timezone.now())
        available = Money(card.account.available, card.currency)
        return ResolvedTender(source(card.currency, cap=available), tender, gift_card=card)

    if tender.method == Tender.Method.LOYALTY_POINTS:
        account = _loyalty_account(customer, api_key=api_key, currency=currency)
        programme = account.programme
        requested = tender.amount
        if tender.points is not None:
            if tender.points > account.account.available:
                raise InsufficientFunds(
                    meta={"available_points": int(account.account.available)}, field="points"
                )
            requested = points_to_money(
                points=tender.points, point_value=programme.point_value, currency=programme.currency
            )
        cap = loyalty_points_value(account=account)
        return ResolvedTender(
            source(programme.currency, cap=cap, requested=requested),
            tender,
            loyalty_account=account,
        )

    if tender.method == Tender.Method.CARD and tender.bank_card is not None:
        card = _owned(
            BankCard.objects.filter(removed_at__isnull=True),
            tender.bank_card,
            customer,
            api_key=api_key,
        )
        return ResolvedTender(source(currency), tender, bank_card=card)
    return ResolvedTender(source(currency), tender)


def _owned(queryset, public_id: str | None, customer: Customer | None, *, api_key: ApiKey):  # type: ignore[no-untyped-def]
    """A wallet instrument of this payment's customer; anyone else's is simply not found.

    Spending a stored instrument by its id needs the whole wallet's strength: a till that only
    typed the customer's email may not (403 `strong_presentation_required`).
    """
    if customer is None:
        raise CustomerRequired()
    customer_presentation_check(api_key=api_key, customer=customer, strength=Strength.WALLET)
    instrument = queryset.filter(public_id=public_id, customer=customer).first()
    if instrument is None:
        raise InstrumentNotFound()
    return instrument


def _loyalty_account(
    customer: Customer | None, *, api_key: ApiKey, currency: str
) -> LoyaltyAccount:
    """The customer's points, for a till that scanned their loyalty card (or proved more)."""
    if customer is None:
        raise CustomerRequired()
    customer_presentation_check(api_key=api_key, customer=customer, strength=Strength.LOYALTY)
    programme = LoyaltyProgramme.objects.filter(
        merchant_id=api_key.merchant_id, currency=currency
    ).first()
    account = programme and loyalty_account_primary(customer=customer, programme=programme)
    if not account:
        raise InstrumentNotFound("This customer has no loyalty account in this currency.")
    return account


# -- inside the engine's transactions ---------------------------------------------------------


def _reference(tender: Tender) -> str:
    return f"tender:{tender.public_id}"


def lock_wallet_rows(tenders: list[Tender], *, earning: LoyaltyAccount | None = None) -> None:
    """Lock every wallet row these tenders (and a points earn) touch, in the canonical order.

    The tenders carry their instruments (bound at planning, or `payment_tenders`' joins)."""
    account_ids = [t.gift_card.account_id for t in tenders if t.gift_card is not None]
    account_ids += [t.loyalty_account.account_id for t in tenders if t.loyalty_account is not None]
    if earning is not None:
        account_ids.append(earning.account_id)
    lock_ledger_accounts(account_ids)
    lock_vouchers(t.voucher_id for t in tenders if t.voucher_id)


def charge(
    tender: Tender,
    *,
    customer: Customer | None,
    channel: str,
    hold_until: datetime | None,
    actor: str,
) -> None:
    """Take the tender's value: as a hold until `hold_until` (posted or voided at capture or
    void), or, with None, at once (a sale captured on the spot, where a hold would only be
    posted in the same transaction). Card tenders stay pending until Stripe authorises them."""
    reference = _reference(tender)
    at_once = hold_until is None
    if tender.method == Tender.Method.GIFT_CARD:
        assert tender.gift_card is not None
        if at_once:
            tender.wallet_transfer = wallet.gift_card_redeem(
                gift_card=tender.gift_card, amount=tender.amount, reference=reference, actor=actor
            )
        else:
            tender.wallet_transfer = wallet.gift_card_hold(
                gift_card=tender.gift_card,
                amount=tender.amount,
                reference=reference,
                expires_at=hold_until,
                actor=actor,
            )
    elif tender.method == Tender.Method.LOYALTY_POINTS:
        assert tender.loyalty_account is not None
        assert tender.points is not None
        if at_once:
            tender.wallet_transfer = wallet.loyalty_points_burn(
                account=tender.loyalty_account,
                points=tender.points,
                reference=reference,
                actor=actor,
            )
        else:
            tender.wallet_transfer = wallet.loyalty_points_hold(
                account=tender.loyalty_account,
                points=tender.points,
                reference=reference,
                expires_at=hold_until,
                actor=actor,
            )
    elif tender.method == Tender.Method.VOUCHER:
        assert tender.voucher is not None
        redemption = wallet.voucher_reserve(
            voucher=tender.voucher,
            customer=customer,
            amount=tender.amount,
            reference=reference,
            expires_at=hold_until,
            channel=channel,
            actor=actor,
        )
        tender.wallet_transfer = redemption.hold
        tender.voucher_redemption = (
            wallet.voucher_redemption_consume(redemption=redemption, actor=actor)
            if at_once
            else redemption
        )
    if at_once:
        tender.status = Tender.Status.CAPTURED
        tender.captured_amount = tender.amount
    elif tender.method != Tender.Method.CARD:
        tender.status = Tender.Status.AUTHORIZED


def _redemption(tender: Tender) -> Redemption:
    assert tender.voucher_redemption_id is not None
    return Redemption.objects.get(pk=tender.voucher_redemption_id)


def _hold_of(tender: Tender) -> Transfer | None:
    if tender.wallet_transfer_id is None:
        return None
    return Transfer.objects.get(pk=tender.wallet_transfer_id)


def holds_intact(tenders: list[Tender]) -> bool:
    """True while every wallet hold of these tenders is pending and not past its time-out."""
    hold_ids = [t.wallet_transfer_id for t in tenders if t.wallet_transfer_id]
    intact = Transfer.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
        pk__in=hold_ids,
        resolution__isnull=True,
    ).count()
    return intact == len(hold_ids)


def settle(tender: Tender, *, amount: Money, actor: str) -> None:
    """At capture: post what is captured of the hold (nothing captured: release it).

    A re-run after a crash finds the hold posted and does nothing; a hold that was voided
    meanwhile (timed out) raises, for the engine to release the whole payment.
    """
    if amount.amount <= 0:
        release(tender, reason="not captured", actor=actor)
        return
    if tender.method == Tender.Method.VOUCHER:
        redemption = _redemption(tender)
        if redemption.status == Redemption.Status.RESERVED:
            wallet.voucher_redemption_consume(redemption=redemption, amount=amount, actor=actor)
        elif redemption.status != Redemption.Status.CONSUMED:
            raise RedemptionNotReserved(meta={"status": redemption.status})
        return
    wallet_transfer = _hold_of(tender)
    if wallet_transfer is None or wallet_transfer.state == "posted":
        return
    if wallet_transfer.state == "voided":
        raise HoldNotPending(field=f"tender {tender.sequence}")
    if tender.method == Tender.Method.GIFT_CARD:
        wallet.gift_card_post(transfer=wallet_transfer, amount=amount, actor=actor)
    elif tender.method == Tender.Method.LOYALTY_POINTS:
        assert tender.loyalty_account is not None
        assert tender.points is not None
        points = min(
            tender.points,
            money_to_points(value=amount, point_value=tender.loyalty_account.programme.point_value),
        )
        wallet.loyalty_points_post(transfer=wallet_transfer, points=points, actor=actor)
        tender.points = points


def release(tender: Tender, *, reason: str, actor: str) -> None:
    """Void the tender's hold or reservation; a no-op when there is none (any more)."""
    if tender.method == Tender.Method.VOUCHER and tender.voucher_redemption_id:
        redemption = _redemption(tender)
        if redemption.status == Redemption.Status.RESERVED:
            wallet.voucher_redemption_release(redemption=redemption, reason=reason, actor=actor)
        return
    wallet_transfer = _hold_of(tender)
    if wallet_transfer is None or wallet_transfer.state != "pending":
        return
    if tender.method == Tender.Method.GIFT_CARD:
        wallet.gift_card_void(transfer=wallet_transfer, reason=reason, actor=actor)
    elif tender.method == Tender.Method.LOYALTY_POINTS:
        wallet.loyalty_points_void(transfer=wallet_transfer, reason=reason, actor=actor)


def refund(allocation: RefundAllocation, *, reason: str, actor: str) -> None:
    """Give a refund's share back to the tender's instrument; card and cash are paid out by
    the engine and the till. A voucher is reinstated once its part is refunded in full."""
    tender = allocation.tender
    reference = f"refund:{allocation.refund.public_id}"
    if tender.method == Tender.Method.GIFT_CARD:
        assert tender.wallet_transfer is not None
        allocation.transfer = wallet.gift_card_refund(
            transfer=tender.wallet_transfer,
            amount=allocation.amount,
            reference=reference,
            reason=reason,
            actor=actor,
        )
    elif tender.method == Tender.Method.LOYALTY_POINTS:
        assert tender.wallet_transfer is not None
        assert tender.points is not None
        earlier = RefundAllocation.objects.filter(
            tender=tender, refund__status=Refund.Status.SUCCEEDED
        ).aggregate(points=Sum("points", default=0))["points"]
        points = points_to_reverse(
            earned=tender.points,
            captured=tender.captured_amount,
            refunded_total=tender.refunded_amount,
            already_reversed=earlier,
        )
        allocation.points = points
        if points:
            allocation.transfer = wallet.loyalty_points_refund(
                transfer=tender.wallet_transfer,
                points=points,
                reference=reference,
                reason=reason,
                actor=actor,
            )
    elif tender.method == Tender.Method.VOUCHER and _refunded_in_full(tender):
        redemption = _redemption(tender)
        wallet.voucher_redemption_reinstate(
            redemption=redemption, reference=reference, reason=reason, actor=actor
        )


def _refunded_in_full(tender: Tender) -> bool:
    return tender.refunded_amount == tender.captured_amount


# -- loyalty earned on a sale ------------------------------------------------------------------


def earn_account_of(payment: Payment) -> LoyaltyAccount | None:
    """The account this payment's points were earned on (for taking them back), if any."""
    if payment.loyalty_earn_transfer_id is None:
        return None
    assert payment.loyalty_earn_transfer is not None
    return LoyaltyAccount.objects.get(account_id=payment.loyalty_earn_transfer.credit_account_id)


def loyalty_earn_account(
    payment: Payment, tenders: list[Tender] | None = None
) -> LoyaltyAccount | None:
    """The customer's primary account in the payment's currency (a points tender already
    carries it), where the points of this payment are earned."""
    if payment.customer_id is None:
        return None
    for tender in tenders or []:
        if tender.loyalty_account is not None:
            return tender.loyalty_account
    programme = LoyaltyProgramme.objects.filter(
        merchant_id=payment.merchant_id, currency=payment.amount.currency.code
    ).first()
    if programme is None or payment.customer is None:
        return None
    return loyalty_account_primary(customer=payment.customer, programme=programme)


_EARNS_ON = frozenset(
    {Tender.Method.GIFT_CARD, Tender.Method.CARD, Tender.Method.CASH, Tender.Method.EXTERNAL_CARD}
)


def loyalty_earn(
    payment: Payment, tenders: list[Tender], account: LoyaltyAccount | None, *, actor: str
) -> int:
    """Points for what the customer paid with money (not with points or vouchers)."""
    if account is None:
        return 0
    currency = payment.amount.currency.code
    spend = sum((t.captured_amount for t in tenders if t.method in _EARNS_ON), Money(0, currency))
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
