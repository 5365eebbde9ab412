"""Gift cards: issue, activate, reload, claim, block, expire, and the hold/post/void of paying
with one. Every status change and every movement happens under the lock of the card's ledger
account, and the card is re-read inside it."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from moneyed import Money

from customers.lock_objects import customers_lock_survivors
from customers.models import Customer
from merchants.errors import IdempotencyKeyReused
from merchants.models import Merchant
from wallet.codes import code_format, code_generate, code_hmac, pin_hash, pin_is_valid
from wallet.errors import (
    ExpiryInPast,
    GiftCardAlreadyClaimed,
    InstrumentBlocked,
    InstrumentExpired,
    InvalidPin,
    InvalidStatusChange,
    ReasonRequired,
    WrongInstrument,
)
from wallet.ledger import check_amount
from wallet.lock_objects import lock_ledger_accounts
from wallet.models import GiftCard, LedgerAccount, Transfer
from wallet.selectors import gift_card_check_usable
from wallet.services.common import check_currency, check_customer_of, money_amount
from wallet.system_accounts import instrument_account_open, system_account
from wallet.transfers import (
    transfer_create,
    transfer_hold,
    transfer_post,
    transfer_reverse,
    transfer_void,
)

Status = GiftCard.Status


@dataclass(frozen=True)
class IssuedGiftCard:
    gift_card: GiftCard
    code: str | None  # shown once; None when a retried issue found the first one
    replayed: bool = False


def _lock_card(gift_card: GiftCard) -> tuple[GiftCard, LedgerAccount]:
    account = lock_ledger_accounts([gift_card.account_id])[gift_card.account_id]
    card = GiftCard.objects.get(pk=gift_card.pk)
    card.account = account
    return card, account


def _lock_survivor(customer: Customer) -> Customer:
    return customers_lock_survivors(customer_ids=[customer.pk])[customer.pk]


def _replay_issue(
    merchant: Merchant, reference: str, initial_value: Money
) -> IssuedGiftCard | None:
    issue = (
        Transfer.objects.filter(merchant=merchant, code=Transfer.Code.ISSUE, reference=reference)
        .select_related("credit_account__gift_card")
        .first()
    )
    if issue is None:
        return None
    if issue.unit != initial_value.currency.code or issue.amount != initial_value.amount:
        raise IdempotencyKeyReused()
    return IssuedGiftCard(gift_card=issue.credit_account.gift_card, code=None, replayed=True)


def gift_card_issue(
    *,
    merchant: Merchant,
    initial_value: Money,
    expires_at: datetime | None = None,
    pin: str | None = None,
    customer: Customer | None = None,
    active: bool = True,
    reference: str = "",
    actor: str,
) -> IssuedGiftCard:
    """Create a card holding `initial_value` (issuance -> card). The code is returned once.

    With a `reference`, a retry finds the first issue instead of creating a second card.
    `active=False` issues a card that cannot be used until `gift_card_activate`. A card for a
    customer goes to the customer's merge survivor, locked first, so a merge committing
    meanwhile cannot leave it on a tombstone.
    """
    currency = check_currency(initial_value.currency.code, field="initial_value")
    amount = check_amount(initial_value.amount, currency, field="initial_value")
    if pin is not None and not pin_is_valid(pin):
        raise InvalidPin(field="pin")
    check_customer_of(customer, merchant.pk)
    if expires_at is not None and expires_at <= timezone.now():
        raise ExpiryInPast(field="expires_at")
    if reference and (replay := _replay_issue(merchant, reference, initial_value)):
        return replay
    try:
        with transaction.atomic():
            if customer is not None:
                customer = _lock_survivor(customer)
            code = code_generate()
            account = instrument_account_open(
                merchant_id=merchant.pk,
                kind=LedgerAccount.Kind.GIFT_CARD,
                unit=currency,
                name=f"gift card …{code[-4:]}",
            )
            card = GiftCard.objects.create(
                merchant=merchant,
                customer=customer,
                account=account,
                currency=currency,
                code_hmac=code_hmac(code),
                code_last4=code[-4:],
                pin_hash=pin_hash(pin) if pin else "",
                status=Status.ACTIVE if active else Status.INACTIVE,
                expires_at=expires_at,
            )
            issue = transfer_create(
                debit=system_account(
                    merchant_id=merchant.pk, kind=LedgerAccount.Kind.ISSUANCE, unit=currency
                ),
                credit=account,
                amount=amount,
                unit=currency,
                code=Transfer.Code.ISSUE,
                reference=reference,
                actor=actor,
            )
            card.account = issue.credit_account  # the locked row, with the issued value
    except IntegrityError:
        if reference and (replay := _replay_issue(merchant, reference, initial_value)):
            return replay
        raise
    return IssuedGiftCard(gift_card=card, code=code_format(code))


@transaction.atomic
def gift_card_activate(*, gift_card: GiftCard, actor: str) -> GiftCard:
    card, _ = _lock_card(gift_card)
    if card.status != Status.INACTIVE:
        raise InvalidStatusChange(f"A {card.status} card cannot be activated.")
    if card.is_past_expiry(timezone.now()):
        raise InstrumentExpired(field="gift_card")
    return _set_status(card, Status.ACTIVE, reason=f"activated ({actor})")


@transaction.atomic
def gift_card_block(*, gift_card: GiftCard, reason: str, actor: str) -> GiftCard:
    """Stop a card from being used (lost, fraud). Holds already taken stay valid."""
    if not reason.strip():
        raise ReasonRequired(field="reason")
    card, _ = _lock_card(gift_card)
    if card.status not in (Status.ACTIVE, Status.INACTIVE):
        raise InvalidStatusChange(f"A {card.status} card cannot be blocked.")
    return _set_status(card, Status.BLOCKED, reason=f"{reason} ({actor})")


@transaction.atomic
def gift_card_unblock(*, gift_card: GiftCard, reason: str, actor: str) -> GiftCard:
    if not reason.strip():
        raise ReasonRequired(field="reason")
    card, _ = _lock_card(gift_card)
    if card.status != Status.BLOCKED:
        raise InvalidStatusChange("Only a blocked card can be unblocked.")
    return _set_status(card, Status.ACTIVE, reason=f"{reason} ({actor})")


def _set_status(card: GiftCard, status: str, *, reason: str) -> GiftCard:
    card.status = status
    card.status_reason = reason
    card.status_changed_at = timezone.now()
    card.save(update_fields=["status", "status_reason", "status_changed_at"])
    return card


@transaction.atomic
def gift_card_reload(
    *, gift_card: GiftCard, amount: Money, reference: str = "", actor: str, paid: bool = False
) -> Transfer:
    """Add value (issuance -> card). A retry with the same `reference` returns the first
    reload; the same reference with another card or amount is `idempotency_key_reused`.
    A reload the customer has `paid` for already completes whatever happened to the card
    since it was checked (blocked or expired meanwhile: the value is theirs all the same)."""
    card, account = _lock_card(gift_card)
    value = money_amount(amount, currency=card.currency)
    if reference:
        first = Transfer.objects.filter(
            merchant_id=card.merchant_id, code=Transfer.Code.RELOAD, reference=reference
        ).first()
        if first is not None:
            if first.credit_account_id != account.pk or first.amount != value:
                raise IdempotencyKeyReused()
            return first
    if not paid:
        gift_card_check_usable(gift_card=card, at=timezone.now())
    issuance = system_account(
        merchant_id=card.merchant_id, kind=LedgerAccount.Kind.ISSUANCE, unit=card.currency
    )
    try:
        with transaction.atomic():
            return transfer_create(
                debit=issuance,
                credit=account,
                amount=value,
                unit=card.currency,
                code=Transfer.Code.RELOAD,
                reference=reference,
                actor=actor,
            )
    except IntegrityError as error:  # the same reference, concurrently, on another card
        raise IdempotencyKeyReused() from error


@transaction.atomic
def gift_card_claim(*, gift_card: GiftCard, customer: Customer) -> GiftCard:
    """Put a card (found by its code) into `customer`'s wallet; claiming twice is a no-op.

    The customer's merge survivor is locked before the card (the canonical order) and gets
    the card, so a merge committing meanwhile cannot leave it on a tombstone.
    """
    check_customer_of(customer, gift_card.merchant_id)
    customer = _lock_survivor(customer)
    card, _ = _lock_card(gift_card)
    if card.customer_id == customer.pk:
        return card
    if card.customer_id is not None:
        raise GiftCardAlreadyClaimed()
    if card.status == Status.BLOCKED:
        raise InstrumentBlocked(field="gift_card")
    if card.status == Status.EXPIRED or card.is_past_expiry(timezone.now()):
        raise InstrumentExpired(field="gift_card")
    card.customer = customer
    card.save(update_fields=["customer"])
    return card


@transaction.atomic
def gift_card_expire(
    *,
    gift_card: GiftCard,
    at: datetime | None = None,
    actor: str,
    reason: str = "gift card expired",
) -> Transfer | None:
    """Mark the card expired and move its available value to breakage.

    Value still held by a pending payment is left alone: a later post takes it, a void returns
    it to the card, and the next expiry run moves it to breakage.
    """
    at = at or timezone.now()
    card, account = _lock_card(gift_card)
    if card.status != Status.EXPIRED:
        card.expires_at = min(card.expires_at or at, at)
        card.status = Status.EXPIRED
        card.status_changed_at = at
        card.status_reason = reason
        card.save(update_fields=["expires_at", "status", "status_changed_at", "status_reason"])
    if account.available <= 0:
        return None
    breakage = system_account(
        merchant_id=card.merchant_id, kind=LedgerAccount.Kind.BREAKAGE, unit=card.currency
    )
    return transfer_create(
        debit=account,
        credit=breakage,
        amount=account.available,
        unit=card.currency,
        code=Transfer.Code.BREAKAGE,
        reason=reason,
        actor=actor,
    )


def _redemption_accounts(
    gift_card: GiftCard, amount: Money
) -> tuple[LedgerAccount, LedgerAccount, Decimal, str]:
    """Lock the card, check it can pay `amount` now: (card account, clearing, value, unit)."""
    card, account = _lock_card(gift_card)
    value = money_amount(amount, currency=card.currency)
    gift_card_check_usable(gift_card=card, at=timezone.now())
    clearing = system_account(
        merchant_id=card.merchant_id,
        kind=LedgerAccount.Kind.REDEMPTION_CLEARING,
        unit=card.currency,
    )
    return account, clearing, value, card.currency


@transaction.atomic
def gift_card_hold(
    *,
    gift_card: GiftCard,
    amount: Money,
    reference: str,
    expires_at: datetime | None,
    actor: str,
) -> Transfer:
    """Hold `amount` on the card (card -> redemption clearing, pending) for a payment."""
    account, clearing, value, unit = _redemption_accounts(gift_card, amount)
    return transfer_hold(
        debit=account,
        credit=clearing,
        amount=value,
        unit=unit,
        reference=reference,
        expires_at=expires_at,
        code=Transfer.Code.REDEMPTION,
        actor=actor,
    )


def _gift_card_transfer(transfer: Transfer) -> Transfer:
    """`transfer` if it moved value out of a gift card (a redemption hold or its posting)."""
    if transfer.debit_account.kind != LedgerAccount.Kind.GIFT_CARD:
        raise WrongInstrument(field="transfer")
    return transfer


def gift_card_post(*, transfer: Transfer, amount: Money | None = None, actor: str) -> Transfer:
    """Capture (up to) the held amount; the rest returns to the card."""
    hold = _gift_card_transfer(transfer)
    value = None if amount is None else money_amount(amount, currency=hold.unit)
    return transfer_post(transfer=hold, amount=value, actor=actor)


def gift_card_void(*, transfer: Transfer, reason: str, actor: str) -> Transfer:
    return transfer_void(transfer=_gift_card_transfer(transfer), reason=reason, actor=actor)


def gift_card_refund(
    *,
    transfer: Transfer,
    amount: Money | None,
    reference: str,
    reason: str,
    actor: str,
) -> Transfer:
    """Give back (part of) a captured redemption onto the card, whatever the card's status
    (an expired card's refunded value goes to breakage on the next expiry run)."""
    redemption = _gift_card_transfer(transfer)
    value: Decimal | None = (
        None if amount is None else money_amount(amount, currency=redemption.unit)
    )
    return transfer_reverse(
        transfer=redemption,
        amount=value,
        reference=reference,
        reason=reason,
        code=Transfer.Code.REFUND,
        actor=actor,
    )
