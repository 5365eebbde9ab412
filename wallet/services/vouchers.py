"""Vouchers: issue, and the reserve -> consume | release, consume -> reinstate life of one use.

A use counts against the voucher's limits from the moment it is reserved (the payment's hold
phase), under a row lock on the voucher, so limits hold however many tills race. Its value
moves through the ledger like stored value: voucher funding -> redemption clearing, pending on
reserve, posted on consume, voided on release, reversed on reinstatement.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from moneyed import Money

from customers.lock_objects import customers_lock_survivors
from customers.models import Customer
from merchants.models import Merchant
from wallet.codes import code_format, code_generate, code_hmac
from wallet.errors import (
    HoldNotPending,
    InvalidChannel,
    InvalidLimit,
    InvalidPercent,
    InvalidWindow,
    RedemptionNotConsumed,
    RedemptionNotReserved,
    VoucherAmountTooHigh,
    VoucherValueInvalid,
)
from wallet.ledger import Move, ledger_write
from wallet.lock_objects import lock_voucher_redemption, lock_vouchers
from wallet.models import Channel, LedgerAccount, Transfer, Voucher, VoucherRedemption
from wallet.selectors import voucher_check_limits, voucher_check_usable
from wallet.services.common import check_currency, check_customer_of, money_amount
from wallet.system_accounts import system_accounts
from wallet.transfers import reversible_transfer, transfer_post, transfer_reverse, transfer_void

Status = VoucherRedemption.Status


@dataclass(frozen=True)
class IssuedVoucher:
    voucher: Voucher
    code: str | None  # shown once: None when a retry found the voucher issued before


@transaction.atomic
def voucher_issue(
    *,
    merchant: Merchant,
    currency: str,
    amount: Money | None = None,
    percent: Decimal | None = None,
    minimum_basket: Money | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    channels: list[str] | None = None,
    max_uses_total: int | None = 1,
    max_uses_per_customer: int | None = None,
    customer: Customer | None = None,
    reference: str = "",
) -> IssuedVoucher:
    """A fixed-amount (`amount`) or percentage (`percent`) voucher; single use by default.

    A voucher for a customer goes to the customer's merge survivor, locked first, so a merge
    committing meanwhile cannot leave it on a tombstone. With a `reference`, a retry finds the
    voucher issued first (its code cannot be shown again) instead of issuing a second.
    """
    if reference and (
        first := Voucher.objects.filter(merchant=merchant, issue_reference=reference).first()
    ):
        return IssuedVoucher(voucher=first, code=None)
    check_currency(currency)
    check_customer_of(customer, merchant.pk)
    if (amount is None) == (percent is None):
        raise VoucherValueInvalid()
    if amount is not None:
        money_amount(amount, currency=currency)
    if percent is not None and not (0 < percent <= 100 and percent == round(percent, 2)):
        raise InvalidPercent(field="percent")
    minimum = Decimal(0)
    if minimum_basket is not None:
        minimum = money_amount(minimum_basket, currency=currency, field="minimum_basket")
    if valid_from and valid_until and valid_until <= valid_from:
        raise InvalidWindow(field="valid_until")
    channels = sorted(set(channels or Channel.values))
    if not channels or any(channel not in Channel.values for channel in channels):
        raise InvalidChannel(field="channels")
    for limit, field in (
        (max_uses_total, "max_uses_total"),
        (max_uses_per_customer, "max_uses_per_customer"),
    ):
        if limit is not None and limit < 1:
            raise InvalidLimit(field=field)
    if customer is not None:
        customer = customers_lock_survivors(customer_ids=[customer.pk])[customer.pk]
    code = code_generate()
    try:
        with transaction.atomic():
            voucher = Voucher.objects.create(
                merchant=merchant,
                customer=customer,
                code_hmac=code_hmac(code),
                code_last4=code[-4:],
                kind=Voucher.Kind.FIXED if amount is not None else Voucher.Kind.PERCENT,
                currency=currency,
                amount=amount.amount if amount is not None else None,
                percent=percent,
                minimum_basket=minimum,
                valid_from=valid_from,
                valid_until=valid_until,
                channels=channels,
                max_uses_total=max_uses_total,
                max_uses_per_customer=max_uses_per_customer,
                issue_reference=reference,
            )
    except IntegrityError:  # the same reference, committed by a concurrent retry meanwhile
        first = Voucher.objects.get(merchant=merchant, issue_reference=reference)
        return IssuedVoucher(voucher=first, code=None)
    return IssuedVoucher(voucher=voucher, code=code_format(code))


@transaction.atomic
def voucher_disable(*, voucher: Voucher) -> Voucher:
    """No new uses; uses already reserved can still be consumed."""
    locked = lock_vouchers([voucher.pk])[voucher.pk]
    locked.status = Voucher.Status.DISABLED
    locked.save(update_fields=["status"])
    return locked


@dataclass(frozen=True)
class VoucherUse:
    """One use of a voucher whose value `voucher_use_move` took and `ledger_write` wrote:
    `transfer` is its hold (pending: reserved) or, for a sale captured at once, its posting."""

    voucher: Voucher
    transfer: Transfer
    reference: str


def voucher_use_move(
    *,
    voucher: Voucher,
    amount: Money,
    funding: LedgerAccount,
    clearing: LedgerAccount,
    reference: str,
    expires_at: datetime | None,
    at_once: bool,
    actor: str,
) -> Move:
    """The ledger move that takes one use's value (voucher funding -> redemption clearing):
    pending until consume, release or `expires_at`, or posted at once. Between system accounts,
    so it locks nothing; the voucher's own checks are `voucher_uses_record`'s, under its lock."""
    return Move(
        kind=Transfer.Kind.POSTED if at_once else Transfer.Kind.PENDING,
        debit=funding,
        credit=clearing,
        amount=money_amount(amount, currency=voucher.currency),
        code=Transfer.Code.VOUCHER,
        reference=reference,
        expires_at=None if at_once else expires_at,
        actor=actor,
    )


def voucher_uses_record(
    *, uses: list[VoucherUse], customer: Customer | None, channel: str | None
) -> list[VoucherRedemption]:
    """Record written uses: lock their vouchers (pk order, after the ledger accounts), re-check
    status, validity, customer, limits and the fixed amount under that lock, then insert each
    use (reserved, or consumed when its value was posted at once). Must run in the transaction
    that wrote the transfers, so a refusal rolls them back."""
    locked = lock_vouchers(use.voucher.pk for use in uses)
    now = timezone.now()
    redemptions = []
    for use in uses:
        voucher = locked[use.voucher.pk]
        value = use.transfer.amount
        voucher_check_usable(voucher=voucher, customer=customer, channel=channel, at=now)
        voucher_check_limits(voucher=voucher, customer=customer)
        fixed = voucher.amount if voucher.kind == Voucher.Kind.FIXED else None
        if fixed is not None and value > fixed:
            raise VoucherAmountTooHigh(field="amount")
        consumed = use.transfer.kind == Transfer.Kind.POSTED
        redemptions.append(
            VoucherRedemption.objects.create(
                voucher=voucher,
                customer=customer,
                amount=value,
                hold=use.transfer,
                reference=use.reference,
                status=Status.CONSUMED if consumed else Status.RESERVED,
            )
        )
    return redemptions


@transaction.atomic
def voucher_reserve(
    *,
    voucher: Voucher,
    customer: Customer | None,
    amount: Money,
    reference: str,
    expires_at: datetime | None = None,
    channel: str | None = None,
    actor: str,
) -> VoucherRedemption:
    """Reserve one use worth `amount` (what `voucher_evaluate` granted) for a payment: the
    value held (`voucher_use_move`), then the use re-checked and recorded under the voucher's
    row lock (`voucher_uses_record`), the path the payments engine takes for many at once."""
    funding, clearing = (LedgerAccount.Kind.VOUCHER_FUNDING, LedgerAccount.Kind.REDEMPTION_CLEARING)
    systems = system_accounts(
        merchant_id=voucher.merchant_id,
        wanted=[(funding, voucher.currency), (clearing, voucher.currency)],
    )
    move = voucher_use_move(
        voucher=voucher,
        amount=amount,
        funding=systems[(funding, voucher.currency)],
        clearing=systems[(clearing, voucher.currency)],
        reference=reference,
        expires_at=expires_at,
        at_once=False,
        actor=actor,
    )
    (hold,) = ledger_write([move])
    use = VoucherUse(voucher=voucher, transfer=hold, reference=reference)
    return voucher_uses_record(uses=[use], customer=customer, channel=channel)[0]


def _set(redemption: VoucherRedemption, status: str) -> VoucherRedemption:
    redemption.status = status
    redemption.save(update_fields=["status", "updated_at"])
    return redemption


@transaction.atomic
def voucher_redemption_consume(
    *, redemption: VoucherRedemption, amount: Money | None = None, actor: str
) -> VoucherRedemption:
    """Capture: post the held value (all of it, or `amount` of it on a partial capture)."""
    locked = lock_voucher_redemption(redemption.pk)
    if locked.status != Status.RESERVED:
        raise RedemptionNotReserved(meta={"status": locked.status})
    value = None if amount is None else money_amount(amount, currency=locked.hold.unit)
    transfer_post(transfer=locked.hold, amount=value, actor=actor)
    return _set(locked, Status.CONSUMED)


@transaction.atomic
def voucher_redemption_release(
    *, redemption: VoucherRedemption, reason: str, actor: str
) -> VoucherRedemption:
    """Void: the use no longer counts and the held value is released."""
    locked = lock_voucher_redemption(redemption.pk)
    if locked.status != Status.RESERVED:
        raise RedemptionNotReserved(meta={"status": locked.status})
    try:
        transfer_void(transfer=locked.hold, reason=reason, actor=actor)
    except HoldNotPending:
        if locked.hold.state != "voided":
            raise
    return _set(locked, Status.RELEASED)


@transaction.atomic
def voucher_redemption_reinstate(
    *, redemption: VoucherRedemption, reference: str, reason: str, actor: str
) -> VoucherRedemption:
    """Refund: the use comes back (it stops counting) and the value it took returns to voucher
    funding. Nothing is paid out to the customer."""
    locked = lock_voucher_redemption(redemption.pk)
    if locked.status != Status.CONSUMED:
        raise RedemptionNotConsumed(meta={"status": locked.status})
    posted = reversible_transfer(locked.hold)
    locked.reinstatement = transfer_reverse(
        transfer=posted,
        reference=reference,
        reason=reason,
        code=Transfer.Code.VOUCHER_REINSTATEMENT,
        actor=actor,
    )
    locked.status = Status.REINSTATED
    locked.save(update_fields=["status", "reinstatement", "updated_at"])
    return locked
