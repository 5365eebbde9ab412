"""Tender methods that spend stored value: gift card, loyalty points, voucher.

Rounding: loyalty points pay `points_to_money(points)` (rounded down); an amount paid in points
takes `money_to_points(amount)` points (rounded up); both rules are the wallet's (`pricing`).
"""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Sum
from django.utils import timezone
from moneyed import Money

from config.errors import KassaError
from customers.models import Strength
from payments.errors import InstrumentNotFound
from payments.methods.base import (
    ChargeContext,
    ResolveContext,
    ResolvedTender,
    TenderMethod,
    register,
)
from payments.models import Refund, RefundAllocation, Tender
from wallet import services as wallet
from wallet.errors import HoldNotPending, InsufficientFunds, RedemptionNotReserved
from wallet.guessing import code_guessing_guard
from wallet.ledger import Move, holds_resolve
from wallet.models import GiftCard, LedgerAccount, LoyaltyAccount, Transfer
from wallet.models import VoucherRedemption as Redemption
from wallet.pricing import money_to_points, points_to_money, points_to_reverse
from wallet.selectors import (
    gift_card_check_usable,
    gift_card_find,
    loyalty_points_value,
    voucher_evaluate,
    voucher_find,
)
from wallet.services.common import money_amount as wallet_money_amount

if TYPE_CHECKING:
    from payments.services.common import TenderRequest

Kind = Transfer.Kind


def reference_of(tender: Tender) -> str:
    return f"tender:{tender.public_id}"


def _hold_of(tender: Tender) -> Transfer | None:
    if tender.wallet_transfer_id is None:
        return None
    return Transfer.objects.get(pk=tender.wallet_transfer_id)


class _LedgerInstrument(TenderMethod):
    """A method whose instrument is a ledger account: charge = one move out of it to the
    merchant's redemption clearing; settle/release resolve that hold; refund reverses it."""

    rank = 1
    stored_value = True
    code: str = Transfer.Code.REDEMPTION

    def account(self, tender: Tender) -> LedgerAccount:
        raise NotImplementedError

    def value(self, tender: Tender) -> Decimal:
        """What the tender takes off the account, in the account's unit."""
        raise NotImplementedError

    def systems(self, tender: Tender) -> list[tuple[str, str]]:
        return [(LedgerAccount.Kind.REDEMPTION_CLEARING, self.account(tender).unit)]

    def locks(self, tender: Tender) -> list[int]:
        return [self.account(tender).pk]

    def charge(self, tender: Tender, ctx: ChargeContext) -> list[Move]:
        account = self.account(tender)
        clearing = ctx.system(LedgerAccount.Kind.REDEMPTION_CLEARING, account.unit)
        return [
            Move(
                kind=Kind.POSTED if ctx.at_once else Kind.PENDING,
                debit=account,
                credit=clearing,
                amount=self.value(tender),
                code=self.code,
                reference=reference_of(tender),
                expires_at=ctx.hold_until,
                actor=ctx.actor,
            )
        ]

    def posted_amount(self, tender: Tender, amount: Money) -> Decimal:
        """The part of the hold a capture of `amount` posts."""
        return amount.amount

    def release(self, tender: Tender, *, reason: str, actor: str) -> None:
        hold = _hold_of(tender)
        if hold is None or hold.state != "pending":
            return
        holds_resolve([(hold, None)], actor=actor, reason=reason)

    def settlements(
        self, tenders: list[Tender], *, holds: dict[int, Transfer], actor: str
    ) -> list[tuple[Transfer, Decimal | None]]:
        """At capture: post what each tender captures of its hold, void the hold of one that
        captures nothing (a hold already posted is left: a re-run)."""
        resolutions: list[tuple[Transfer, Decimal | None]] = []
        for tender in tenders:
            hold = holds.get(tender.wallet_transfer_id or 0)
            captured = tender.captured_amount
            if hold is None or hold.state == "posted":
                continue
            if hold.state == "voided":
                if captured.amount > 0:
                    raise HoldNotPending(field=f"tender {tender.sequence}")
                continue
            post = self.posted_amount(tender, captured) if captured.amount > 0 else None
            resolutions.append((hold, post))
        return resolutions


@register
class GiftCardMethod(_LedgerInstrument):
    name = Tender.Method.GIFT_CARD
    strength = Strength.WALLET

    def resolve(self, ctx: ResolveContext, index: int, tender: "TenderRequest") -> ResolvedTender:
        if tender.code is not None:
            with code_guessing_guard(api_key_id=ctx.api_key.pk, client_ip=ctx.client_ip):
                card = gift_card_find(
                    merchant_id=ctx.api_key.merchant_id, code=tender.code, pin=tender.pin
                )
        else:
            customer = ctx.require(self.strength)
            found = (
                GiftCard.objects.select_related("account")
                .filter(public_id=tender.gift_card or "", customer=customer)
                .first()
            )
            if found is None:
                raise InstrumentNotFound()
            card = found
        gift_card_check_usable(gift_card=card, at=timezone.now())
        available = Money(card.account.available, card.currency)
        source = self.source(ctx, index, tender, currency=card.currency, cap=available)
        return ResolvedTender(source, tender, gift_card=card)

    def bind(self, tender: Tender, resolved: ResolvedTender) -> None:
        super().bind(tender, resolved)
        tender.gift_card = resolved.gift_card

    def account(self, tender: Tender) -> LedgerAccount:
        assert tender.gift_card is not None
        return tender.gift_card.account

    def value(self, tender: Tender) -> Decimal:
        return tender.amount.amount

    def refund(self, allocation: RefundAllocation, *, reason: str, actor: str) -> None:
        tender = allocation.tender
        assert tender.wallet_transfer is not None
        allocation.transfer = wallet.gift_card_refund(
            transfer=tender.wallet_transfer,
            amount=allocation.amount,
            reference=f"refund:{allocation.refund.public_id}",
            reason=reason,
            actor=actor,
        )


@register
class LoyaltyPointsMethod(_LedgerInstrument):
    name = Tender.Method.LOYALTY_POINTS
    strength = Strength.LOYALTY
    earns_points = False
    code = Transfer.Code.BURN

    def resolve(self, ctx: ResolveContext, index: int, tender: "TenderRequest") -> ResolvedTender:
        customer = ctx.require(self.strength)
        account = (
            LoyaltyAccount.objects.select_related("account", "programme")
            .filter(
                customer=customer,
                closed_at__isnull=True,
                programme__merchant_id=ctx.api_key.merchant_id,
                programme__currency=ctx.request.amount.currency.code,
            )
            .order_by("created_at", "pk")
            .first()
        )
        if account is None:
            raise InstrumentNotFound("This customer has no loyalty account in this currency.")
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
        source = self.source(
            ctx, index, tender, currency=programme.currency, cap=cap, requested=requested
        )
        return ResolvedTender(source, tender, loyalty_account=account)

    def bind(self, tender: Tender, resolved: ResolvedTender) -> None:
        super().bind(tender, resolved)
        account = resolved.loyalty_account
        assert account is not None
        tender.loyalty_account = account
        tender.points = resolved.request.points or money_to_points(
            value=tender.amount, point_value=account.programme.point_value
        )

    def account(self, tender: Tender) -> LedgerAccount:
        assert tender.loyalty_account is not None
        return tender.loyalty_account.account

    def value(self, tender: Tender) -> Decimal:
        assert tender.points is not None
        return Decimal(tender.points)

    def posted_amount(self, tender: Tender, amount: Money) -> Decimal:
        assert tender.loyalty_account is not None
        assert tender.points is not None
        points = min(
            tender.points,
            money_to_points(value=amount, point_value=tender.loyalty_account.programme.point_value),
        )
        tender.points = points
        return Decimal(points)

    def refund(self, allocation: RefundAllocation, *, reason: str, actor: str) -> None:
        tender = allocation.tender
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
                reference=f"refund:{allocation.refund.public_id}",
                reason=reason,
                actor=actor,
            )


def _redemption(tender: Tender) -> Redemption:
    assert tender.voucher_redemption_id is not None
    return Redemption.objects.get(pk=tender.voucher_redemption_id)


@register
class VoucherMethod(TenderMethod):
    """A use reserved under the voucher's row lock (its limits), value held from the merchant's
    voucher funding; reinstated, never paid out, on a full refund."""

    name = Tender.Method.VOUCHER
    rank = 0
    earns_points = False

    def resolve(self, ctx: ResolveContext, index: int, tender: "TenderRequest") -> ResolvedTender:
        assert tender.code is not None
        with code_guessing_guard(api_key_id=ctx.api_key.pk, client_ip=ctx.client_ip):
            voucher = voucher_find(merchant_id=ctx.api_key.merchant_id, code=tender.code)
        discount = voucher_evaluate(
            voucher=voucher,
            basket_total=ctx.request.amount,
            channel=ctx.request.channel,
            customer=ctx.request.customer,
            check_limits=False,  # counted once, under the voucher's lock (`locked`)
        )
        source = self.source(ctx, index, tender, currency=voucher.currency, cap=discount)
        return ResolvedTender(source, tender, voucher=voucher)

    def bind(self, tender: Tender, resolved: ResolvedTender) -> None:
        super().bind(tender, resolved)
        tender.voucher = resolved.voucher

    def systems(self, tender: Tender) -> list[tuple[str, str]]:
        unit = tender.amount.currency.code
        return [
            (LedgerAccount.Kind.VOUCHER_FUNDING, unit),
            (LedgerAccount.Kind.REDEMPTION_CLEARING, unit),
        ]

    def charge(self, tender: Tender, ctx: ChargeContext) -> list[Move]:
        assert tender.voucher is not None
        unit = tender.amount.currency.code
        return [
            wallet.voucher_use_move(
                voucher=tender.voucher,
                amount=tender.amount,
                funding=ctx.system(LedgerAccount.Kind.VOUCHER_FUNDING, unit),
                clearing=ctx.system(LedgerAccount.Kind.REDEMPTION_CLEARING, unit),
                reference=reference_of(tender),
                expires_at=ctx.hold_until,
                at_once=ctx.at_once,
                actor=ctx.actor,
            )
        ]

    def locked(self, tenders: list[Tender], ctx: ChargeContext) -> None:
        """Each use re-checked against its voucher's limits under the voucher's lock, then
        recorded (reserved, or consumed when charged at once)."""
        uses = []
        for tender in tenders:
            assert tender.voucher is not None
            assert tender.wallet_transfer is not None
            uses.append(
                wallet.VoucherUse(
                    voucher=tender.voucher,
                    transfer=tender.wallet_transfer,
                    reference=reference_of(tender),
                )
            )
        try:
            redemptions = wallet.voucher_uses_record(
                uses=uses, customer=ctx.customer, channel=ctx.channel
            )
        except KassaError as error:
            if len(tenders) == 1:
                error.field = ctx.field_of(tenders[0], error.field)
            raise
        for tender, redemption in zip(tenders, redemptions, strict=True):
            tender.voucher_redemption = redemption

    def settlements(
        self, tenders: list[Tender], *, holds: dict[int, Transfer], actor: str
    ) -> list[tuple[Transfer, Decimal | None]]:
        """At capture: each use consumed (its hold posted for what is captured) or, if nothing
        is, released; the uses locked (after their vouchers) and marked in one go."""
        ids = [t.voucher_redemption_id for t in tenders if t.voucher_redemption_id]
        uses = {
            use.pk: use
            for use in Redemption.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
        }
        resolutions: list[tuple[Transfer, Decimal | None]] = []
        marked: dict[str, list[int]] = {
            Redemption.Status.CONSUMED: [],
            Redemption.Status.RELEASED: [],
        }
        for tender in tenders:
            if not tender.voucher_redemption_id:
                continue
            use = uses[tender.voucher_redemption_id]
            hold = holds[use.hold_id]
            captured = tender.captured_amount
            if captured.amount <= 0:
                if use.status == Redemption.Status.RESERVED:
                    if hold.state == "pending":
                        resolutions.append((hold, None))
                    marked[Redemption.Status.RELEASED].append(use.pk)
                continue
            if use.status == Redemption.Status.CONSUMED:
                continue
            if use.status != Redemption.Status.RESERVED:
                raise RedemptionNotReserved(meta={"status": use.status})
            resolutions.append((hold, wallet_money_amount(captured, currency=hold.unit)))
            marked[Redemption.Status.CONSUMED].append(use.pk)
        now = timezone.now()
        for status, pks in marked.items():
            if pks:
                Redemption.objects.filter(pk__in=pks).update(status=status, updated_at=now)
        return resolutions

    def release(self, tender: Tender, *, reason: str, actor: str) -> None:
        if not tender.voucher_redemption_id:
            return
        redemption = _redemption(tender)
        if redemption.status == Redemption.Status.RESERVED:
            wallet.voucher_redemption_release(redemption=redemption, reason=reason, actor=actor)

    def refund(self, allocation: RefundAllocation, *, reason: str, actor: str) -> None:
        tender = allocation.tender
        if tender.refunded_amount != tender.captured_amount:
            return
        wallet.voucher_redemption_reinstate(
            redemption=_redemption(tender),
            reference=f"refund:{allocation.refund.public_id}",
            reason=reason,
            actor=actor,
        )
