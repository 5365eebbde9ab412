"""Gift cards sold or reloaded as basket lines of a payment (a till's or a web shop's).

A line of kind `gift_card` becomes a new, active card once the payment is captured; a line of
kind `gift_card_reload` adds its value to the card it names. Until then nothing exists: a
voided or failed payment issued nothing. Fulfilment (payments.services.gift_card_lines) is
idempotent by the payment line, so a retried capture or the recovery task never issues twice.
"""

from datetime import datetime
from typing import Any

from payments.errors import GiftCardLineRefused
from wallet.models import GiftCard
from wallet.selectors import gift_card_check_usable

ITEM, GIFT_CARD, GIFT_CARD_RELOAD = "item", "gift_card", "gift_card_reload"
LINE_KINDS = (ITEM, GIFT_CARD, GIFT_CARD_RELOAD)


def line_reference(payment_public_id: object, index: int) -> str:
    """The issue's or reload's ledger reference: one per payment line, unique per merchant."""
    return f"payment:{payment_public_id}:line:{index}"


def gift_card_lines_of(basket: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The basket's gift card lines, as the payment's answer shows them."""
    return [
        {
            "line": index,
            "kind": line["kind"],
            "amount": line["unit_price"],
            "gift_card": line.get("gift_card"),
            "last4": line.get("last4"),
        }
        for index, line in enumerate(basket)
        if line.get("kind", ITEM) != ITEM
    ]


def gift_card_lines_check(*, merchant_id: int, basket: list[dict[str, Any]], at: datetime) -> None:
    """Before any money is taken: every card a reload line names is this merchant's, in the
    line's currency, and usable now."""
    for index, line in enumerate(basket):
        if line.get("kind") != GIFT_CARD_RELOAD:
            continue
        card = GiftCard.objects.filter(merchant_id=merchant_id, public_id=line["gift_card"]).first()
        if card is None or card.currency != line["unit_price"]["currency"]:
            raise GiftCardLineRefused(
                "No such gift card in this currency.", field=f"basket[{index}].gift_card"
            )
        gift_card_check_usable(gift_card=card, at=at)
