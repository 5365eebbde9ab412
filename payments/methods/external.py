"""Tender methods whose money moves outside the ledger: a card at Stripe, cash and the till's
own card terminal (recorded; the till paid or pays out)."""

from typing import TYPE_CHECKING

from customers.models import Strength
from payments.errors import InstrumentNotFound
from payments.methods.base import ResolveContext, ResolvedTender, TenderMethod, register
from payments.models import Tender
from wallet.models import BankCard

if TYPE_CHECKING:
    from payments.services.common import TenderRequest


@register
class CardMethod(TenderMethod):
    """A saved card (by id, from the customer's wallet) or a PaymentMethod the web shop
    collected; authorised at Stripe by the engine, outside any transaction."""

    name = Tender.Method.CARD
    remainder = True
    authorised_at_stripe = True
    strength = Strength.WALLET

    def resolve(self, ctx: ResolveContext, index: int, tender: "TenderRequest") -> ResolvedTender:
        resolved = super().resolve(ctx, index, tender)
        if tender.bank_card is not None:
            customer = ctx.require(self.strength)
            card = BankCard.objects.filter(
                public_id=tender.bank_card, customer=customer, removed_at__isnull=True
            ).first()
            if card is None:
                raise InstrumentNotFound()
            resolved.bank_card = card
        return resolved

    def bind(self, tender: Tender, resolved: ResolvedTender) -> None:
        super().bind(tender, resolved)
        if resolved.bank_card is not None:
            tender.bank_card = resolved.bank_card
            tender.stripe_payment_method_id = resolved.bank_card.payment_method_id


@register
class CashMethod(TenderMethod):
    name = Tender.Method.CASH
    remainder = True
    till_only = True


@register
class ExternalCardMethod(TenderMethod):
    """The till's own card terminal: authorised there, recorded here."""

    name = Tender.Method.EXTERNAL_CARD
    remainder = True
    till_only = True
