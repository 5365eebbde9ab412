"""Fulfilling a captured payment's gift card lines: issue the cards sold, reload the cards
topped up (see payments.gift_card_lines). It runs inside the transaction that marks the payment
captured, so the card exists exactly when the money does. The money is taken by then (Stripe
captured first), so a reload completes even if its card was blocked or expired since the
capture checked it; the reloaded cards' accounts are locked with the payment's other wallet
rows (methods.lock_wallet_rows), in the canonical order."""

from dataclasses import dataclass
from decimal import Decimal

from moneyed import Money

from payments.gift_card_lines import GIFT_CARD, GIFT_CARD_RELOAD, line_reference
from payments.models import Payment
from wallet.models import GiftCard
from wallet.services import gift_card_issue, gift_card_reload


@dataclass(frozen=True)
class FulfilledLine:
    line: int
    gift_card: GiftCard
    code: str | None  # a card issued by this very call: shown once, never stored


def payment_gift_cards_fulfil(*, payment: Payment, actor: str) -> list[FulfilledLine]:
    """Issue or reload each gift card line of a captured `payment` (call it in the capturing
    transaction, the payment locked). The ledger reference is the payment line's, so a second
    run finds the first issue or reload instead of moving value again."""
    fulfilled = []
    basket = [dict(line) for line in payment.basket]
    for index, line in enumerate(basket):
        kind = line.get("kind")
        if kind not in (GIFT_CARD, GIFT_CARD_RELOAD):
            continue
        value = Money(Decimal(line["unit_price"]["amount"]), line["unit_price"]["currency"])
        reference = line_reference(payment.public_id, index)
        if kind == GIFT_CARD:
            issued = gift_card_issue(
                merchant=payment.merchant,
                initial_value=value,
                reference=reference,
                actor=actor,
            )
            card, code = issued.gift_card, issued.code
        else:
            card = GiftCard.objects.get(
                merchant_id=payment.merchant_id, public_id=line["gift_card"]
            )
            gift_card_reload(
                gift_card=card, amount=value, reference=reference, actor=actor, paid=True
            )
            code = None
        line.update(gift_card=str(card.public_id), last4=card.code_last4)
        fulfilled.append(FulfilledLine(line=index, gift_card=card, code=code))
    if fulfilled and basket != payment.basket:
        payment.basket = basket
        Payment.objects.filter(pk=payment.pk).update(basket=basket)
    payment.issued_gift_cards = fulfilled  # type: ignore[attr-defined]  # for the answer
    return fulfilled
