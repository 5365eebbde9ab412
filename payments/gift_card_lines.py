"""Gift cards sold or reloaded as basket lines of a payment (a till's or a web shop's).

A line of kind `gift_card` becomes a new, active card once the payment is captured; a line of
kind `gift_card_reload` adds its value to the card it names. Until then nothing exists: a
voided or failed payment issued nothing. Fulfilment (payments.services.gift_card_lines) is
idempotent by the payment line, so a retried capture or the recovery task never issues twice.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from moneyed import Money

from payments.errors import GiftCardLineRefused
from payments.models import Payment
from wallet.models import GiftCard
from wallet.selectors import gift_card_check_usable

ITEM, GIFT_CARD, GIFT_CARD_RELOAD = "item", "gift_card", "gift_card_reload"
LINE_KINDS = (ITEM, GIFT_CARD, GIFT_CARD_RELOAD)
# A card is bought with money: paying for one with stored value would only move (or extend the
# life of) value the merchant already owes.
STORED_VALUE_METHODS = frozenset({"gift_card", "offline_gift_card", "loyalty_points", "voucher"})


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


def gift_card_lines_total(basket: list[dict[str, Any]], currency: str) -> Money:
    """The value a payment put on gift cards: not refundable as money (it is on the cards)."""
    total = sum(
        (
            Decimal(line["unit_price"]["amount"])
            for line in basket
            if line.get("kind", ITEM) != ITEM
        ),
        Decimal(0),
    )
    return Money(total, currency)


def gift_card_reload_accounts(*, merchant_id: int, basket: list[dict[str, Any]]) -> list[int]:
    """The ledger accounts of the cards the basket reloads (to lock with the other rows)."""
    cards = [line["gift_card"] for line in basket if line.get("kind") == GIFT_CARD_RELOAD]
    if not cards:
        return []
    return list(
        GiftCard.objects.filter(merchant_id=merchant_id, public_id__in=cards).values_list(
            "account_id", flat=True
        )
    )


def gift_card_reloads_check(payment: Payment) -> None:
    """At capture, before any money is taken: each card the payment reloads is still usable
    (a card blocked or expired since the authorisation refuses the capture, nothing taken)."""
    if payment.basket:
        gift_card_lines_check(
            merchant_id=payment.merchant_id, basket=payment.basket, methods=[], at=timezone.now()
        )


def gift_card_lines_check(
    *, merchant_id: int, basket: list[dict[str, Any]], methods: list[str], at: datetime
) -> None:
    """Before any money is taken: a card is paid with money, and every card a reload line
    names is this merchant's, in the line's currency, and usable now."""
    if any(line.get("kind", ITEM) != ITEM for line in basket) and STORED_VALUE_METHODS & set(
        methods
    ):
        raise GiftCardLineRefused(
            "A gift card is paid with money, not stored value.", field="tenders"
        )
    for index, line in enumerate(basket):
        if line.get("kind") != GIFT_CARD_RELOAD:
            continue
        card = GiftCard.objects.filter(merchant_id=merchant_id, public_id=line["gift_card"]).first()
        if card is None or card.currency != line["unit_price"]["currency"]:
            raise GiftCardLineRefused(
                "No such gift card in this currency.", field=f"basket[{index}].gift_card"
            )
        gift_card_check_usable(gift_card=card, at=at)
