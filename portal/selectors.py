"""Reads for the portal pages: the customer's instruments with human history, purchases, consent.

The ledger gives each transfer a code, a reference (`tender:<id>`, `payment:<id>`,
`refund:<id>` from the payments engine) and a reason; here they become one translated
sentence per line, naming the store where the money moved.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import ConsentEvent, Customer
from payments.models import Payment, Refund, Tender
from wallet.models import GiftCard, LoyaltyAccount, LoyaltyLot, Transfer

Code = Transfer.Code
Kind = Transfer.Kind


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    amount: Decimal  # signed: + into the instrument, - out of it
    unit: str
    reason: str
    on_hold: bool


def _where(payment: Payment | None) -> str:
    if payment is None:
        return ""
    if payment.store is not None:
        return payment.store.name
    return _("the online shop")


def _payments_by_reference(transfers: list[Transfer]) -> dict[str, Payment]:
    """The payment each `tender:`, `payment:` or `refund:` reference belongs to."""
    ids: dict[str, set[str]] = {"tender": set(), "payment": set(), "refund": set()}
    for transfer in transfers:
        prefix, _sep, rest = transfer.reference.partition(":")
        if prefix in ids:
            ids[prefix].add(rest)
    found: dict[str, Payment] = {}
    for tender in Tender.objects.filter(public_id__in=ids["tender"]).select_related(
        "payment__store"
    ):
        found[f"tender:{tender.public_id}"] = tender.payment
    for payment in Payment.objects.filter(public_id__in=ids["payment"]).select_related("store"):
        found[f"payment:{payment.public_id}"] = payment
    for refund in Refund.objects.filter(public_id__in=ids["refund"]).select_related(
        "payment__store"
    ):
        found[f"refund:{refund.public_id}"] = refund.payment
    return found


def _reason(transfer: Transfer, payment: Payment | None) -> str:
    where = _where(payment)
    code = transfer.code
    if code == Code.ISSUE:
        return _("Gift card issued")
    if code == Code.RELOAD:
        return _("Reload")
    if code == Code.REDEMPTION:
        return _("Purchase at %(where)s") % {"where": where} if where else _("Purchase")
    if code == Code.BURN:
        return _("Points spent at %(where)s") % {"where": where} if where else _("Points spent")
    if code == Code.REFUND:
        return _("Refund of a purchase at %(where)s") % {"where": where} if where else _("Refund")
    if code == Code.EARN:
        return _("Points earned at %(where)s") % {"where": where} if where else _("Points earned")
    if code == Code.EARN_REVERSAL:
        return _("Points taken back after a refund")
    if code in (Code.BREAKAGE, Code.POINTS_EXPIRY):
        return _("Expired")
    if code == Code.ADJUSTMENT:
        return _("Adjustment: %(reason)s") % {"reason": transfer.reason or _("correction")}
    return _("Other movement")


def instrument_history(*, ledger_account_id: int) -> list[HistoryLine]:
    """What moved the instrument's value, newest first: holds still pending are marked; holds
    later voided moved nothing and are left out, a posted hold shows once, as posted."""
    transfers = list(
        Transfer.objects.filter(
            Q(debit_account_id=ledger_account_id) | Q(credit_account_id=ledger_account_id)
        )
        .select_related("pending", "resolution")
        .order_by("-created_at", "-pk")
    )
    origin: dict[int, Transfer] = {t.pk: t.pending or t for t in transfers}
    payments = _payments_by_reference(list(origin.values()))
    lines = []
    for transfer in transfers:
        if transfer.kind == Kind.VOID_PENDING:
            continue
        if transfer.kind == Kind.PENDING and transfer.state != "pending":
            continue
        first = origin[transfer.pk]
        sign = 1 if transfer.credit_account_id == ledger_account_id else -1
        lines.append(
            HistoryLine(
                at=transfer.created_at,
                amount=sign * transfer.amount,
                unit=transfer.unit,
                reason=_reason(first, payments.get(first.reference)),
                on_hold=transfer.kind == Kind.PENDING,
            )
        )
    return lines


def gift_card_of(*, customer: Customer, public_id: str) -> GiftCard:
    """The customer's own card; anyone else's (or a malformed id) is a 404."""
    try:
        return GiftCard.objects.select_related("account").get(
            customer=customer, public_id=uuid.UUID(public_id)
        )
    except (GiftCard.DoesNotExist, ValueError) as error:
        raise Http404 from error


def loyalty_account_of(*, customer: Customer, public_id: str) -> LoyaltyAccount:
    try:
        return LoyaltyAccount.objects.select_related("account", "programme").get(
            customer=customer, public_id=uuid.UUID(public_id)
        )
    except (LoyaltyAccount.DoesNotExist, ValueError) as error:
        raise Http404 from error


@dataclass(frozen=True)
class NextExpiry:
    at: datetime
    points: int


def points_next_expiry(*, account: LoyaltyAccount) -> NextExpiry | None:
    """The next date points lapse, with at most what is available (lots are used soonest-first,
    so the earliest live lot is the first to go)."""
    lot = (
        LoyaltyLot.objects.filter(account=account, points__gt=0, expires_at__gt=timezone.now())
        .order_by("expires_at")
        .first()
    )
    if lot is None or lot.expires_at is None:
        return None
    return NextExpiry(at=lot.expires_at, points=min(lot.points, int(account.account.available)))


def purchases_of(*, customer: Customer) -> QuerySet[Payment]:
    """The customer's purchases on every channel, newest first, with tenders and refunds."""
    return (
        Payment.objects.filter(customer=customer)
        .exclude(status__in=[Payment.Status.FAILED, Payment.Status.AUTHORIZING])
        .select_related("store")
        .prefetch_related(
            Prefetch("tenders", queryset=Tender.objects.select_related("gift_card", "bank_card")),
            Prefetch("refunds", queryset=Refund.objects.order_by("created_at")),
        )
        .order_by("-created_at", "-pk")
    )


def purchase_of(*, customer: Customer, public_id: str) -> Payment:
    try:
        return purchases_of(customer=customer).get(public_id=uuid.UUID(public_id))
    except (Payment.DoesNotExist, ValueError) as error:
        raise Http404 from error


def consent_history(*, customer: Customer) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(customer=customer).order_by("-recorded_at", "-pk")
