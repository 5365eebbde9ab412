"""Stored value a till may take offline, bounded: the float, each till's allowance, shortfalls.

The merchant funds an offline float per currency (an instrument ledger account: it never goes
below zero). While online a till reserves an allowance: a hold on the float, so all allowances
together never exceed it. Offline, the till accepts gift cards (code + PIN) within its
allowance; on replay the card pays what it holds, and what it cannot pay is a shortfall: the
float pays the gap (the hold shrinks by as much), and the back office recovers or writes off
the receivable. The sale stands and the card never goes below zero.

Lock order: ledger accounts (by pk), then the allowance row, as wallet.lock_objects requires;
every function here takes them in that order.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from merchants.models import ApiKey, Merchant
from payments.models import Tender
from tills.errors import OfflineFloatShort, OfflineValueRefused
from tills.models import OfflineAllowance, OfflineFloat, OfflineShortfall
from wallet.errors import ReasonRequired
from wallet.ledger import check_amount
from wallet.lock_objects import lock_ledger_accounts
from wallet.models import GiftCard, LedgerAccount, Transfer
from wallet.system_accounts import instrument_account_open, system_account
from wallet.transfers import transfer_create, transfer_hold, transfer_void

DEFAULT_MAX_ALLOWANCE = "300.00"


def max_allowance() -> Decimal:
    values = getattr(settings, "KASSA_TILL_OFFLINE", {})
    return Decimal(values.get("max_allowance", DEFAULT_MAX_ALLOWANCE))


def _clearing(merchant_id: int, currency: str) -> LedgerAccount:
    return system_account(
        merchant_id=merchant_id, kind=LedgerAccount.Kind.REDEMPTION_CLEARING, unit=currency
    )


@transaction.atomic
def offline_float_fund(*, merchant: Merchant, amount: Money, actor: str) -> OfflineFloat:
    """Add `amount` to the merchant's offline float (opened on first funding)."""
    currency = amount.currency.code
    value = check_amount(amount.amount, currency)
    found = OfflineFloat.objects.filter(merchant=merchant, currency=currency).first()
    if found is None:
        account = instrument_account_open(
            merchant_id=merchant.pk,
            kind=LedgerAccount.Kind.OFFLINE_FLOAT,
            unit=currency,
            name=f"offline float {currency}",
        )
        found = OfflineFloat.objects.create(merchant=merchant, currency=currency, account=account)
    transfer_create(
        debit=system_account(
            merchant_id=merchant.pk, kind=LedgerAccount.Kind.ADJUSTMENTS, unit=currency
        ),
        credit=found.account,
        amount=value,
        unit=currency,
        code=Transfer.Code.ADJUSTMENT,
        reason="offline float funded",
        actor=actor,
    )
    return found


def _release(allowance: OfflineAllowance, *, reason: str, actor: str) -> None:
    """Void the allowance's hold (the float gets it back) and close the allowance."""
    if allowance.hold is not None and allowance.hold.state == "pending":
        transfer_void(transfer=allowance.hold, reason=reason, actor=actor)
    allowance.status = OfflineAllowance.Status.RELEASED
    allowance.released_at = timezone.now()
    allowance.save(update_fields=["status", "released_at"])


def _active(terminal_id: int, offline_float: OfflineFloat) -> OfflineAllowance | None:
    return (
        OfflineAllowance.objects.select_for_update(of=("self",))
        .select_related("hold")
        .filter(terminal_id=terminal_id, float=offline_float, status=OfflineAllowance.Status.ACTIVE)
        .first()
    )


@transaction.atomic
def offline_allowance_reserve(*, api_key: ApiKey, amount: Money, actor: str) -> OfflineAllowance:
    """Reserve (or renew: the active one is released first) this till's allowance."""
    assert api_key.terminal_id is not None
    currency = amount.currency.code
    value = check_amount(amount.amount, currency)
    if value > max_allowance():
        raise OfflineValueRefused(
            f"An allowance is at most {max_allowance()} {currency}.", field="amount"
        )
    offline_float = OfflineFloat.objects.filter(
        merchant_id=api_key.merchant_id, currency=currency
    ).first()
    if offline_float is None:
        raise OfflineFloatShort(meta={"available": "0"})
    account = lock_ledger_accounts([offline_float.account_id])[offline_float.account_id]
    current = _active(api_key.terminal_id, offline_float)
    if current is not None:
        _release(current, reason="allowance renewed", actor=actor)
        account.refresh_from_db()
    if account.available < value:
        raise OfflineFloatShort(meta={"available": str(account.available)})
    allowance = OfflineAllowance(
        float=offline_float,
        terminal_id=api_key.terminal_id,
        amount=Money(value, currency),
        used=Money(0, currency),
        reserved_by=actor,
    )
    allowance.hold = transfer_hold(
        debit=account,
        credit=_clearing(api_key.merchant_id, currency),
        amount=value,
        unit=currency,
        reference=f"offline_allowance:{allowance.public_id}",
        expires_at=None,
        actor=actor,
    )
    allowance.save()
    return allowance


@transaction.atomic
def offline_allowance_release(
    *, api_key: ApiKey, currency: str, actor: str
) -> OfflineAllowance | None:
    """Give this till's allowance in `currency` back to the float; None if it had none."""
    assert api_key.terminal_id is not None
    offline_float = OfflineFloat.objects.filter(
        merchant_id=api_key.merchant_id, currency=currency
    ).first()
    if offline_float is None:
        return None
    lock_ledger_accounts([offline_float.account_id])
    allowance = _active(api_key.terminal_id, offline_float)
    if allowance is not None:
        _release(allowance, reason="allowance released", actor=actor)
    return allowance


def offline_shortfall_record(
    *,
    allowance: OfflineAllowance,
    tender: Tender,
    gift_card: GiftCard | None,
    code_last4: str,
    shortfall: Decimal,
    actor: str,
) -> OfflineShortfall:
    """The float pays what the card could not: the allowance's hold is voided, the gap posted
    from the float to redemption clearing, and what is left of the allowance held again. Call
    it in the sale's transaction (methods: tills.tender_method). A shortfall above what is left
    of the active allowance, or of the float, is refused whole (`offline_value_refused`): the
    sale rolls back and the back office settles it by hand."""
    currency = allowance.amount.currency.code
    account = lock_ledger_accounts([allowance.float.account_id])[allowance.float.account_id]
    allowance = (
        OfflineAllowance.objects.select_for_update(of=("self",))
        .select_related("float", "hold")
        .get(pk=allowance.pk)
    )
    if allowance.status != OfflineAllowance.Status.ACTIVE:
        raise OfflineValueRefused(
            "This till's offline allowance was released: the offline sale is refused, the "
            "back office must settle it."
        )
    if shortfall > allowance.remaining.amount:
        raise OfflineValueRefused(
            f"The card cannot pay {shortfall} {currency} of this offline sale, more than is "
            "left of the till's offline allowance: the sale is refused, the back office must "
            "settle it.",
            meta={"shortfall": str(shortfall), "remaining": str(allowance.remaining.amount)},
        )
    if allowance.hold is not None and allowance.hold.state == "pending":
        transfer_void(transfer=allowance.hold, reason="offline shortfall", actor=actor)
        account.refresh_from_db()
    if shortfall > account.available:
        raise OfflineValueRefused(
            f"The offline float cannot pay {shortfall} {currency} of this offline sale: the "
            "sale is refused, the back office must settle it.",
            meta={"shortfall": str(shortfall), "remaining": str(account.available)},
        )
    transfer_create(
        debit=account,
        credit=_clearing(allowance.float.merchant_id, currency),
        amount=shortfall,
        unit=currency,
        code=Transfer.Code.REDEMPTION,
        reference=f"offline_shortfall:{tender.public_id}",
        actor=actor,
    )
    allowance.used += Money(shortfall, currency)
    allowance.hold = None
    left = allowance.remaining.amount
    account.refresh_from_db()
    if min(left, account.available) > 0:
        allowance.hold = transfer_hold(
            debit=account,
            credit=_clearing(allowance.float.merchant_id, currency),
            amount=min(left, account.available),
            unit=currency,
            reference=f"offline_allowance:{allowance.public_id}",
            expires_at=None,
            actor=actor,
        )
    allowance.save(update_fields=["used", "hold"])
    return OfflineShortfall.objects.create(
        allowance=allowance,
        payment_id=tender.payment.public_id,
        tender_id=tender.public_id,
        gift_card=gift_card,
        code_last4=code_last4,
        amount=Money(shortfall, currency),
        card_paid=tender.amount - Money(shortfall, currency),
    )


@transaction.atomic
def offline_shortfall_resolve(
    *, shortfall: OfflineShortfall, status: str, reason: str, actor: str
) -> OfflineShortfall:
    """The back office recovered the receivable, or wrote it off, saying why (kept on the row
    with who and when); an open one only. Only the receivable's status changes: the money
    recovered is taken outside Kassa and is not posted to the ledger."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired(field="reason")
    locked = OfflineShortfall.objects.select_for_update(of=("self",)).get(pk=shortfall.pk)
    if locked.status != OfflineShortfall.Status.OPEN:
        return locked
    locked.status = status
    locked.resolved_by = actor
    locked.resolved_at = timezone.now()
    locked.resolution_reason = reason
    locked.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_reason"])
    return locked
