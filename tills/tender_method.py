"""A gift card taken offline by a till, within its allowance, replayed now (tills.offline_value).

The till could not ask the card for its balance, so the sale is what it was: the card pays
what it holds (never below zero) and the float pays the rest, recorded as a shortfall for the
back office. Only a replayed offline sale captured at once uses it. The server bounds what a
till key can make the float pay: a tender above the policy's per-sale cap, or a shortfall above
what is left of the till's active allowance (or of the float), is refused whole, so the till's
journal shows the refusal and the back office settles that sale by hand.

It is one more class in payments' method registry, registered by tills' AppConfig.ready():
payments never imports tills.
"""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone

from payments.methods.base import (
    ChargeContext,
    ResolveContext,
    ResolvedTender,
    TenderMethod,
    register,
)
from payments.methods.stored_value import reference_of
from payments.models import RefundAllocation, Tender
from payments.offline_policy import offline_policy
from tills.errors import OfflineValueRefused
from tills.models import OfflineAllowance
from tills.offline_value import offline_shortfall_record
from wallet import services as wallet
from wallet.errors import CodeAttemptsLocked, CodeNotRecognised
from wallet.guessing import code_attempt_failed, code_attempts_check
from wallet.ledger import Move
from wallet.lock_objects import lock_ledger_accounts
from wallet.models import GiftCard, LedgerAccount, Transfer
from wallet.selectors import gift_card_find
from wallet.transfers import reversed_amount

if TYPE_CHECKING:
    from payments.services.common import TenderRequest


def _allowance_of(tender: Tender) -> OfflineAllowance:
    allowance: OfflineAllowance = tender._offline_allowance  # type: ignore[attr-defined]
    return allowance


@register
class OfflineGiftCardMethod(TenderMethod):
    name = Tender.Method.OFFLINE_GIFT_CARD
    rank = 1
    till_only = True
    stored_value = True

    def resolve(self, ctx: ResolveContext, index: int, tender: "TenderRequest") -> ResolvedTender:
        api_key, request = ctx.api_key, ctx.request
        if not request.offline or not request.capture or api_key.terminal_id is None:
            raise OfflineValueRefused("Only a till's replayed offline sale takes a card offline.")
        currency = request.amount.currency.code
        requested = tender.amount if tender.amount is not None else request.amount
        max_sale = offline_policy().caps(currency)["max_sale"]
        if requested.amount > max_sale:
            raise OfflineValueRefused(
                f"A gift card taken offline is at most {max_sale} {currency} a sale: this "
                "offline sale is refused, the back office must settle it.",
                field="amount",
                meta={"max_sale": str(max_sale), "currency": currency},
            )
        allowance = (
            OfflineAllowance.objects.select_related("float", "hold")
            .filter(
                terminal_id=api_key.terminal_id,
                float__currency=currency,
                status=OfflineAllowance.Status.ACTIVE,
            )
            .first()
        )
        if allowance is None:
            raise OfflineValueRefused()
        card = _find_card(ctx, tender)
        source = self.source(ctx, index, tender, currency=currency, requested=requested)
        resolved = ResolvedTender(source, tender, gift_card=card)
        resolved.extra.update(allowance=allowance, last4=(tender.code or "")[-4:])
        return resolved

    def bind(self, tender: Tender, resolved: ResolvedTender) -> None:
        super().bind(tender, resolved)
        tender.gift_card = resolved.gift_card
        tender._offline_allowance = resolved.extra["allowance"]  # type: ignore[attr-defined]
        tender._offline_last4 = resolved.extra["last4"]  # type: ignore[attr-defined]

    def locks(self, tender: Tender) -> list[int]:
        card = [tender.gift_card.account_id] if tender.gift_card is not None else []
        if not hasattr(tender, "_offline_allowance"):  # a stored tender (a refund): the card
            return card
        return [*card, _allowance_of(tender).float.account_id]

    def charge(self, tender: Tender, ctx: ChargeContext) -> list[Move]:
        if not ctx.at_once:
            raise OfflineValueRefused("Only a till's replayed offline sale takes a card offline.")
        accounts = lock_ledger_accounts(self.locks(tender))
        card = tender.gift_card
        available = Decimal(0)
        if card is not None and _usable(card, tender.amount.currency.code):
            available = max(accounts[card.account_id].available, Decimal(0))
        amount = tender.amount.amount
        from_card = min(amount, available)
        if from_card < amount:
            offline_shortfall_record(
                allowance=_allowance_of(tender),
                tender=tender,
                gift_card=card,
                code_last4=card.code_last4 if card else _last4(tender),
                shortfall=amount - from_card,
                actor=ctx.actor,
            )
        if from_card <= 0 or card is None:
            return []
        return [
            Move(
                kind=Transfer.Kind.POSTED,
                debit=accounts[card.account_id],
                credit=ctx.system(LedgerAccount.Kind.REDEMPTION_CLEARING, card.currency),
                amount=from_card,
                code=Transfer.Code.REDEMPTION,
                reference=reference_of(tender),
                actor=ctx.actor,
            )
        ]

    def refund(self, allocation: RefundAllocation, *, reason: str, actor: str) -> None:
        """Back onto the card, up to what the card paid; the float's part is a receivable."""
        tender = allocation.tender
        paid = tender.wallet_transfer
        left = paid.amount - reversed_amount(paid) if paid is not None else Decimal(0)
        if paid is None or allocation.amount.amount > left:
            raise OfflineValueRefused(
                "The card paid only part of this offline sale: refund that part to the card, "
                "the rest is the open shortfall's."
            )
        allocation.transfer = wallet.gift_card_refund(
            transfer=paid,
            amount=allocation.amount,
            reference=f"refund:{allocation.refund.public_id}",
            reason=reason,
            actor=actor,
        )


def _last4(tender: Tender) -> str:
    last4: str = tender._offline_last4  # type: ignore[attr-defined]
    return last4


def _find_card(ctx: ResolveContext, tender: "TenderRequest") -> GiftCard | None:
    """The card by code and PIN; None when not recognised (counted as a wrong guess: the whole
    tender is a shortfall, within the allowance). The sale already happened, so a key locked
    out for guessing is not refused: its card is not even looked up (a shortfall too), which
    keeps the lock-out from being sidestepped by replays."""
    key, ip = ctx.api_key.pk, ctx.client_ip
    try:
        code_attempts_check(api_key_id=key, client_ip=ip)
    except CodeAttemptsLocked:
        return None
    try:
        return gift_card_find(
            merchant_id=ctx.api_key.merchant_id, code=tender.code or "", pin=tender.pin
        )
    except CodeNotRecognised:
        code_attempt_failed(api_key_id=key, client_ip=ip)
        return None


def _usable(card: GiftCard, currency: str) -> bool:
    """A blocked, expired or inactive card, or one in another currency than the sale, pays
    nothing: its whole part is the shortfall."""
    return (
        card.status == GiftCard.Status.ACTIVE
        and card.currency == currency
        and not card.is_past_expiry(timezone.now())
    )
