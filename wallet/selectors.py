"""Reads: code lookups, voucher rules, a customer's wallet, balances and history."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet, Subquery, Sum
from django.utils import timezone
from moneyed import Money

from config.errors import KassaError, NotFound
from customers.models import Customer
from merchants.models import ApiKey
from wallet.codes import code_hmac, code_normalise, pin_check_decoy, pin_matches
from wallet.errors import (
    BankCardNotFound,
    ChannelNotAllowed,
    CodeNotRecognised,
    CurrencyMismatch,
    GiftCardNotFound,
    InstrumentBlocked,
    InstrumentExpired,
    InstrumentInactive,
    LoyaltyAccountClosed,
    LoyaltyAccountNotFound,
    MinimumBasketNotMet,
    UsageLimitReached,
    VoucherDisabled,
    VoucherExpired,
    VoucherNotForCustomer,
    VoucherNotYetValid,
)
from wallet.models import (
    BankCard,
    GiftCard,
    LedgerAccount,
    LoyaltyAccount,
    LoyaltyProgramme,
    Transfer,
    Voucher,
    VoucherRedemption,
)
from wallet.pricing import points_to_money, voucher_discount

# --- lookups by code (wrap them in wallet.guessing.code_guessing_guard) -----------------------


def gift_card_find(*, merchant_id: int, code: str, pin: str | None) -> GiftCard:
    """The merchant's card with this code and PIN. A wrong code, a wrong PIN and another
    merchant's code all raise the same `CodeNotRecognised`, after the same one hash check."""
    normalised = code_normalise(code)
    card = None
    if normalised is not None:
        card = (
            GiftCard.objects.select_related("account")
            .filter(merchant_id=merchant_id, code_hmac=code_hmac(normalised))
            .first()
        )
    if card is None:
        pin_check_decoy(pin)
        raise CodeNotRecognised(field="code")
    if not pin_matches(pin, card.pin_hash):
        raise CodeNotRecognised(field="code")
    return card


def voucher_find(*, merchant_id: int, code: str) -> Voucher:
    normalised = code_normalise(code)
    voucher = None
    if normalised is not None:
        voucher = Voucher.objects.filter(
            merchant_id=merchant_id, code_hmac=code_hmac(normalised)
        ).first()
    if voucher is None:
        raise CodeNotRecognised("No voucher matches this code.", field="code")
    return voucher


def gift_card_check_usable(*, gift_card: GiftCard, at: datetime) -> None:
    """Raise the coded reason a card cannot pay now (blocked, expired, not yet activated)."""
    if gift_card.status == GiftCard.Status.BLOCKED:
        raise InstrumentBlocked(field="gift_card")
    if gift_card.status == GiftCard.Status.EXPIRED or gift_card.is_past_expiry(at):
        raise InstrumentExpired(field="gift_card")
    if gift_card.status == GiftCard.Status.INACTIVE:
        raise InstrumentInactive(field="gift_card")


_INSTRUMENT_STATES = """
SELECT account_id, 'gift_card', status, expires_at
FROM wallet_giftcard WHERE account_id = ANY(%(ids)s::bigint[])
UNION ALL
SELECT account_id, 'loyalty_account', CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END,
    NULL::timestamptz
FROM wallet_loyaltyaccount WHERE account_id = ANY(%(ids)s::bigint[])
"""


def instruments_unusable(*, account_ids: list[int], at: datetime) -> dict[int, KassaError]:
    """Why the gift cards and loyalty accounts of these ledger accounts can no longer be spent,
    by account, in one query whatever their kinds. Their status changes take their account's
    lock, so under the locks a spend holds this reads the last word."""
    with connection.cursor() as cursor:
        cursor.execute(_INSTRUMENT_STATES, {"ids": account_ids})
        rows = cursor.fetchall()
    refusals: dict[int, KassaError] = {}
    for account_id, kind, status, expires_at in rows:
        try:
            if kind == "gift_card":
                gift_card_check_usable(
                    gift_card=GiftCard(status=status, expires_at=expires_at), at=at
                )
            elif status == "closed":
                raise LoyaltyAccountClosed()
        except KassaError as error:
            refusals[account_id] = error
    return refusals


# --- by public id, for API keys -------------------------------------------------------------


_Model = TypeVar("_Model", GiftCard, Voucher, LoyaltyAccount, BankCard)


def _by_public_id(
    queryset: QuerySet[_Model], public_id: uuid.UUID | str, not_found: type[NotFound]
) -> _Model:
    try:
        return queryset.get(public_id=public_id)
    except (queryset.model.DoesNotExist, ValidationError) as error:
        raise not_found() from error


def gift_card_get(*, api_key: ApiKey, public_id: uuid.UUID | str) -> GiftCard:
    queryset = GiftCard.objects.select_related("account").filter(merchant_id=api_key.merchant_id)
    return _by_public_id(queryset, public_id, GiftCardNotFound)


def loyalty_account_get(*, customer: Customer, public_id: uuid.UUID | str) -> LoyaltyAccount:
    queryset = LoyaltyAccount.objects.select_related("programme", "account").filter(
        customer=customer
    )
    return _by_public_id(queryset, public_id, LoyaltyAccountNotFound)


def bank_card_get(*, customer: Customer, public_id: uuid.UUID | str) -> BankCard:
    return _by_public_id(BankCard.objects.filter(customer=customer), public_id, BankCardNotFound)


# --- voucher rules ----------------------------------------------------------------------------


def voucher_check_usable(
    *, voucher: Voucher, customer: Customer | None, channel: str | None, at: datetime
) -> None:
    if voucher.status == Voucher.Status.DISABLED:
        raise VoucherDisabled(field="voucher")
    if voucher.valid_from is not None and at < voucher.valid_from:
        raise VoucherNotYetValid(
            field="voucher", meta={"valid_from": voucher.valid_from.isoformat()}
        )
    if voucher.valid_until is not None and at >= voucher.valid_until:
        raise VoucherExpired(field="voucher", meta={"valid_until": voucher.valid_until.isoformat()})
    if channel is not None and channel not in voucher.channels:
        raise ChannelNotAllowed(field="channel", meta={"allowed": list(voucher.channels)})
    if voucher.customer_id is not None and (customer is None or customer.pk != voucher.customer_id):
        raise VoucherNotForCustomer(field="customer")


def voucher_uses(*, voucher: Voucher, customer: Customer | None = None) -> int:
    """Uses that count against the limits: reserved (a payment holds it) or consumed."""
    uses = voucher.redemptions.filter(status__in=VoucherRedemption.COUNTING)
    if customer is not None:
        uses = uses.filter(customer=customer)
    return uses.count()


def voucher_check_limits(*, voucher: Voucher, customer: Customer | None) -> None:
    """Advisory unless the caller holds the voucher's row lock (`voucher_uses_record` does)."""
    if voucher.max_uses_total is not None and voucher_uses(voucher=voucher) >= (
        voucher.max_uses_total
    ):
        raise UsageLimitReached(field="voucher", meta={"max_uses": voucher.max_uses_total})
    if voucher.max_uses_per_customer is not None:
        if customer is None:
            raise VoucherNotForCustomer(
                "This voucher is limited per customer: identify the customer.", field="customer"
            )
        if voucher_uses(voucher=voucher, customer=customer) >= voucher.max_uses_per_customer:
            raise UsageLimitReached(
                "This customer has used the voucher as often as they may.",
                field="voucher",
                meta={"max_uses_per_customer": voucher.max_uses_per_customer},
            )


def voucher_evaluate(
    *,
    voucher: Voucher,
    basket_total: Money,
    channel: str,
    customer: Customer | None,
    at: datetime | None = None,
    check_limits: bool = True,
) -> Money:
    """The money off this voucher grants on this basket (see wallet.pricing for rounding), or
    the coded reason it grants nothing. Limits are re-checked under lock when a use is recorded
    (`voucher_uses_record`); a caller about to record one may leave them to that
    (`check_limits=False`), which counts the uses once instead of twice."""
    if basket_total.currency.code != voucher.currency:
        raise CurrencyMismatch(
            f"The voucher is in {voucher.currency}.",
            field="basket_total",
            meta={"expected": voucher.currency, "given": basket_total.currency.code},
        )
    voucher_check_usable(
        voucher=voucher, customer=customer, channel=channel, at=at or timezone.now()
    )
    if basket_total.amount < voucher.minimum_basket:
        raise MinimumBasketNotMet(
            field="basket_total",
            meta={"minimum": {"amount": str(voucher.minimum_basket), "currency": voucher.currency}},
        )
    if check_limits:
        voucher_check_limits(voucher=voucher, customer=customer)
    return voucher_discount(
        kind=voucher.kind,
        amount=voucher.amount,
        percent=voucher.percent,
        basket_total=basket_total,
    )


# --- loyalty ----------------------------------------------------------------------------------


def loyalty_account_primary(
    *, customer: Customer | int, programme: LoyaltyProgramme | Subquery
) -> LoyaltyAccount | None:
    """The account that earns: the oldest open one (a merge can leave a customer with two).
    `customer` and `programme` may be ids or a subquery, to find it in one query."""
    return (
        LoyaltyAccount.objects.select_related("account", "programme")
        .filter(Q(programme=programme), customer=customer, closed_at__isnull=True)
        .order_by("created_at", "pk")
        .first()
    )


def loyalty_points_value(*, account: LoyaltyAccount) -> Money:
    """What the available points are worth when burnt."""
    programme = account.programme
    return points_to_money(
        points=int(account.account.available),
        point_value=programme.point_value,
        currency=programme.currency,
    )


def loyalty_history(*, account: LoyaltyAccount) -> QuerySet[Transfer]:
    """Every transfer touching the account, newest first."""
    ledger_id = account.account_id
    return (
        Transfer.objects.filter(Q(debit_account_id=ledger_id) | Q(credit_account_id=ledger_id))
        .select_related("resolution")
        .order_by("-created_at", "-pk")
    )


# --- a customer's wallet ----------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerWallet:
    customer: Customer
    gift_cards: list[GiftCard]
    vouchers: list[Voucher]
    loyalty_accounts: list[LoyaltyAccount]
    bank_cards: list[BankCard]


def bank_cards_of(*, customer: Customer) -> list[BankCard]:
    """Live cards, the default first (the one set default most recently), then newest."""
    return list(
        BankCard.objects.filter(customer=customer, removed_at__isnull=True).order_by(
            "-default_since", "-created_at", "-pk"
        )
    )


def bank_card_default(*, customer: Customer) -> BankCard | None:
    return (
        BankCard.objects.filter(
            customer=customer, removed_at__isnull=True, default_since__isnull=False
        )
        .order_by("-default_since", "-pk")
        .first()
    )


def customer_wallet(*, customer: Customer) -> CustomerWallet:
    """Everything the customer holds, each instrument with its ledger balances."""
    vouchers = list(
        Voucher.objects.filter(customer=customer, status=Voucher.Status.ACTIVE).order_by(
            "created_at", "pk"
        )
    )
    return CustomerWallet(
        customer=customer,
        gift_cards=list(
            GiftCard.objects.select_related("account")
            .filter(customer=customer)
            .order_by("issued_at", "pk")
        ),
        vouchers=vouchers,
        loyalty_accounts=list(
            LoyaltyAccount.objects.select_related("account", "programme")
            .filter(customer=customer)
            .order_by("created_at", "pk")
        ),
        bank_cards=bank_cards_of(customer=customer),
    )


def account_balance(*, account: LedgerAccount) -> Decimal:
    """Posted balance of any account; summed from entries for system accounts, which keep
    no cached counters."""
    if not account.is_system:
        return account.balance
    sums = account.entries.filter(layer="posted").aggregate(
        credits=Sum("amount", filter=Q(side="credit"), default=Decimal(0)),
        debits=Sum("amount", filter=Q(side="debit"), default=Decimal(0)),
    )
    balance: Decimal = sums["credits"] - sums["debits"]
    return balance
