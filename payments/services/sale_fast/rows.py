"""The fast sale's rows and answer, each as the engine makes it (the method it follows is
named on each function); `tests/payments/test_sale_fast.py` holds them to the engine's."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from moneyed import Money
from rest_framework.fields import DateTimeField

from config.money import money_json
from customers.models import Strength
from merchants.models import ApiKey
from payments.methods import method_for
from payments.models import Payment, Tender
from payments.planning import PlannedTender, Source
from payments.services.sale_fast.read import NotCovered, SaleRead, require
from wallet.ledger import Move
from wallet.models import GiftCard, LedgerAccount, Transfer
from wallet.pricing import money_to_points, points_earned, points_to_money
from wallet.selectors import gift_card_check_usable
from wallet.system_accounts import system_accounts

_DATETIME = DateTimeField()


def source_of(
    read: SaleRead, index: int, tender: dict[str, Any], currency: str, now: datetime
) -> Source:
    """As the tender's method resolves it (`payments.methods`), from the one read."""
    method = tender["method"]
    traits = method_for(method)
    require(read, traits.strength or Strength.WEAK)  # the customer reached at all
    if method == Tender.Method.GIFT_CARD:
        card = read.cards.get(str(tender["gift_card"]))
        if card is None:
            raise NotCovered
        gift_card_check_usable(
            gift_card=GiftCard(status=card.status, expires_at=card.expires_at), at=now
        )
        cap = Money(card.account.available, card.account.unit)
        return Source(index, method, card.account.unit, tender.get("amount"), cap)
    if method == Tender.Method.LOYALTY_POINTS:
        loyalty = read.loyalty
        if loyalty is None:
            raise NotCovered
        value = tender.get("amount")
        if tender.get("points") is not None:
            if tender["points"] > loyalty.account.available:
                raise NotCovered
            value = points_to_money(
                points=tender["points"], point_value=loyalty.point_value, currency=loyalty.currency
            )
        cap = points_to_money(
            points=int(loyalty.account.available),
            point_value=loyalty.point_value,
            currency=loyalty.currency,
        )
        return Source(index, method, loyalty.currency, value, cap)
    return Source(index, method, currency, tender.get("amount"))


def tender_row(
    read: SaleRead, planned: PlannedTender, requested: list[dict[str, Any]], sequence: int
) -> dict[str, Any]:
    """The tender's row (Tender's columns; `_` keys are for building, not written)."""
    tender = requested[planned.source.index]
    method = planned.source.method
    amount = planned.amount
    money = money_json(amount)
    card = (
        read.cards.get(str(tender.get("gift_card"))) if method == Tender.Method.GIFT_CARD else None
    )
    points, charges = None, card.account if card else None
    if method == Tender.Method.LOYALTY_POINTS:
        assert read.loyalty is not None  # source_of planned it only with an account
        charges = read.loyalty.account
        points = tender.get("points") or money_to_points(
            value=amount, point_value=read.loyalty.point_value
        )
    return {
        "public_id": str(uuid.uuid4()),
        "sequence": sequence,
        "method": method,
        "status": Tender.Status.CAPTURED,
        "amount_currency": money["currency"],
        "amount": str(amount.amount),
        "captured_amount_currency": money["currency"],
        "captured_amount": str(amount.amount),
        "refunded_amount_currency": money["currency"],
        "refunded_amount": "0",
        "points": points,
        "gift_card_id": card.pk if card else None,
        "voucher_id": None,
        "voucher_redemption_id": None,
        "loyalty_account_id": read.loyalty.pk if points is not None and read.loyalty else None,
        "bank_card_id": None,
        "transfer": None,
        "stripe_payment_method_id": "",
        "stripe_payment_intent_id": "",
        "stripe_charge_id": "",
        "stripe_client_secret": "",
        "external_reference": tender.get("reference", ""),
        "failure_code": "",
        "failure_detail": "",
        "disputed": False,
        "_money": money,
        "_amount": amount,
        "_card": card,
        "_charges": charges,  # the instrument account its move debits (stored value only)
    }


def sale_moves(
    api_key: ApiKey,
    read: SaleRead,
    tenders: list[dict[str, Any]],
    payment_id: uuid.UUID,
    actor: str,
    currency: str,
) -> tuple[list[Move], int]:
    """The tenders' moves (as `payments.methods` charges them at once) and the points earn
    (as `methods._earn_move`), and the points earned."""
    charging = [t for t in tenders if t["_charges"] is not None]
    spend = sum(
        (t["_amount"] for t in tenders if method_for(t["method"]).earns_points), Money(0, currency)
    )
    earned = 0
    if read.loyalty is not None and spend.amount > 0:
        earned = points_earned(spend=spend, earn_rate=read.loyalty.earn_rate)
    clearing, expense = LedgerAccount.Kind.REDEMPTION_CLEARING, LedgerAccount.Kind.POINTS_EXPENSE
    wanted = {(clearing, t["_charges"].unit) for t in charging}
    if earned and read.loyalty is not None:
        wanted.add((expense, read.loyalty.account.unit))
    systems = system_accounts(merchant_id=api_key.merchant_id, wanted=wanted) if wanted else {}
    moves = []
    for tender in charging:
        account = tender["_charges"]
        if tender["method"] == Tender.Method.GIFT_CARD:
            value, code = tender["_amount"].amount, Transfer.Code.REDEMPTION
        else:
            value, code = Decimal(tender["points"]), Transfer.Code.BURN
        moves.append(
            Move(
                kind=Transfer.Kind.POSTED,
                debit=account,
                credit=systems[(clearing, account.unit)],
                amount=value,
                code=code,
                reference=f"tender:{tender['public_id']}",
                actor=actor,
            )
        )
    if earned and read.loyalty is not None:
        moves.append(
            Move(
                kind=Transfer.Kind.POSTED,
                debit=systems[(expense, read.loyalty.account.unit)],
                credit=read.loyalty.account,
                amount=Decimal(earned),
                code=Transfer.Code.EARN,
                reference=f"payment:{payment_id}",
                actor=actor,
            )
        )
    return moves, earned


def payment_row(
    api_key: ApiKey,
    idempotency_key: str,
    read: SaleRead,
    values: dict[str, Any],
    basket: list[dict[str, Any]],
    payment_id: uuid.UUID,
    earned: int,
    now: datetime,
) -> dict[str, Any]:
    """The payment's row, as `payments.services.create._sell` makes it."""
    amount: Money = values["amount"]
    currency = amount.currency.code
    at = now.isoformat()
    return {
        "public_id": str(payment_id),
        "merchant_id": api_key.merchant_id,
        "store_id": api_key.store_id,
        "terminal_id": api_key.terminal_id,
        "api_key_id": api_key.pk,
        "idempotency_key": idempotency_key,
        "customer_id": read.customer_id,
        "channel": Payment.Channel.POS,
        "status": Payment.Status.CAPTURED,
        "amount_currency": currency,
        "amount": str(amount.amount),
        "captured_amount_currency": currency,
        "captured_amount": str(amount.amount),
        "refunded_amount_currency": currency,
        "refunded_amount": "0",
        "capture_requested": True,
        "points_earned": earned,
        "external_reference": values["external_reference"],
        "basket": basket,
        "failure_code": "",
        "failure_detail": "",
        "created_at": at,
        "occurred_at": None,
        "offline": False,
        "offline_late": False,
        "updated_at": at,
        "authorized_at": at,
        "captured_at": at,
        "voided_at": None,
        "expires_at": at,
    }


def sale_answer(
    api_key: ApiKey,
    read: SaleRead,
    payment: dict[str, Any],
    tenders: list[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """The answer, as `PaymentOutput` renders the payment."""
    assert api_key.terminal is not None
    currency = payment["amount_currency"]
    total = money_json(Money(payment["amount"], currency))
    nothing = money_json(Money(0, currency))
    at = _DATETIME.to_representation(now)
    return {
        "id": payment["public_id"],
        "status": payment["status"],
        "channel": payment["channel"],
        "amount": total,
        "captured_amount": total,
        "refunded_amount": nothing,
        "customer": read.customer_public_id,
        "store": api_key.terminal.store.code,
        "terminal": api_key.terminal.code,
        "external_reference": payment["external_reference"],
        "created_at": at,
        "points_earned": payment["points_earned"],
        "failure_code": "",
        "failure_detail": "",
        "tenders": [
            {
                "id": t["public_id"],
                "sequence": t["sequence"],
                "method": t["method"],
                "status": t["status"],
                "amount": t["_money"],
                "captured_amount": t["_money"],
                "refunded_amount": nothing,
                "points": t["points"],
                "gift_card_last4": t["_card"].last4 if t["_card"] else None,
                "card_brand": None,
                "card_last4": None,
                "reference": t["external_reference"],
                "failure_code": "",
                "next_action": None,
            }
            for t in tenders
        ],
        "refunds": [],
        "occurred_at": None,
        "offline": False,
        "offline_late": False,
        "gift_cards": [],
        "authorized_at": at,
        "captured_at": at,
        "voided_at": None,
    }


def lot_row(read: SaleRead, earned: int, now: datetime) -> dict[str, Any]:
    assert read.loyalty is not None
    days = read.loyalty.validity_days
    expires = (now + timedelta(days=days)).isoformat() if days is not None else None
    return {"account_id": read.loyalty.pk, "points": earned, "expires_at": expires}


def plain(values: list[Any]) -> list[Any]:
    """A statement parameter array as JSON (decimals and ids as text, times in ISO)."""
    return [
        value.isoformat()
        if isinstance(value, datetime)
        else str(value)
        if isinstance(value, (Decimal, uuid.UUID))
        else value
        for value in values
    ]
