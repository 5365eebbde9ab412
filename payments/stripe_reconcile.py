"""Stripe's balance transactions matched to Kassa's card tenders and refunds (reconciliation).

Stripe books every charge and refund as a balance transaction: gross, fee, net and, for an
automatic payout, the payout that paid it out. A charge is matched to its card tender by the
charge id the tender keeps (else the PaymentIntent id), a refund to its Kassa refund by the
Stripe refund id the allocation keeps (else by the `kassa_refund` metadata Kassa puts on its
refunds: a capture undone at Stripe has a tender but no Kassa refund). What matches nothing is
listed on either side: Stripe's (a charge or refund made in the dashboard) and Kassa's (a card
tender captured in the window that Stripe never booked).

One Stripe account serves every merchant: a transaction of another merchant's tender is left
out. One that belongs to no Kassa tender is this merchant's only when its PaymentIntent's (or
its own) `kassa_merchant` metadata names the merchant; the others (a charge made in the
dashboard, another merchant's on a shared account) are in no merchant's report, only counted
(`unattributed`, and logged). Balance transactions
are read newest first through the SDK's auto-pagination and the reading stops at the first one
older than the window; it is bounded, and refused past the bound rather than cut short. Amounts
become Money here, from Stripe's minor units, with Stripe's signs (a refund is negative).
"""

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from moneyed import Money

from config.money import from_minor_units
from config.stripe import stripe_call, stripe_client
from merchants.models import Merchant
from payments.errors import StripeListingTooLarge
from payments.models import Payment, RefundAllocation, Tender
from payments.stripe_gateway import KASSA_MERCHANT_METADATA, KASSA_REFUND_METADATA

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_BALANCE_TRANSACTIONS = 20_000
MAX_PAYOUTS = 200
# A payout pays out the balance of earlier days: payouts up to this long after the window count.
PAYOUT_LAG = timedelta(days=14)
KINDS = {"charge": "charge", "payment": "charge", "refund": "refund", "payment_refund": "refund"}
UNDO_CAPTURE = re.compile(r"^undo-capture-(?P<tender>[0-9a-f-]{36})$")


@dataclass(frozen=True)
class StripeMatch:
    """One balance transaction matched to a Kassa tender or refund."""

    balance_transaction_id: str
    kind: str  # "charge" | "refund"
    tender_id: int | None
    refund_id: int | None
    gross: Money
    fee: Money
    net: Money
    payout_id: str | None


@dataclass(frozen=True)
class StripeMatchReport:
    matched: list[StripeMatch]
    unmatched_stripe: list[dict[str, Any]]  # balance transactions with no Kassa counterpart
    unmatched_kassa: list[int]  # card tender ids captured in the window, not booked by Stripe
    unattributed: int = 0  # balance transactions of no Kassa tender nor named merchant


def _created(obj: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(obj["created"], tz=UTC)


def _listed(
    operation: Callable[..., Any],
    params: dict[str, Any],
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> Iterator[dict[str, Any]]:
    """The list's objects created in [since, until), read newest first (Stripe's order)."""
    if settings.STRIPE_LIST_CREATED_FILTER and since is not None and until is not None:
        params = {
            **params,
            "created": {"gte": int(since.timestamp()), "lte": int(until.timestamp())},
        }
    objects = iter(stripe_call(operation, params=params).auto_paging_iter())
    read = 0
    while (obj := stripe_call(next, objects, None)) is not None:
        read += 1
        if read > limit:
            raise StripeListingTooLarge(meta={"limit": limit})
        created = _created(obj)
        if since is not None and created < since:
            return
        if until is None or created < until:
            yield obj.to_dict()


def _payouts_by_transaction(*, since: datetime, until: datetime) -> dict[str, str]:
    """{balance transaction id: payout id} over the automatic payouts that may pay the window
    out (Stripe ties transactions to automatic payouts only). The transactions read over all
    the payouts together are bounded by MAX_BALANCE_TRANSACTIONS, not each payout's."""
    client = stripe_client()
    found: dict[str, str] = {}
    payouts = _listed(
        client.v1.payouts.list,
        {"limit": PAGE_SIZE},
        since=since,
        until=until + PAYOUT_LAG,
        limit=MAX_PAYOUTS,
    )
    for payout in payouts:
        if not payout.get("automatic"):
            continue
        for transaction in _listed(
            client.v1.balance_transactions.list,
            {"limit": PAGE_SIZE, "payout": payout["id"]},
            since=None,
            until=None,
            limit=MAX_BALANCE_TRANSACTIONS - len(found),
        ):
            found[transaction["id"]] = payout["id"]
    return found


def _source(transaction: dict[str, Any]) -> dict[str, Any]:
    source = transaction.get("source") or {}
    return source if isinstance(source, dict) else {"id": source}


def _owner(source: dict[str, Any]) -> str:
    """The merchant the source's metadata, or its PaymentIntent's, names."""
    intent = source.get("payment_intent")
    metadata = {
        **((intent.get("metadata") or {}) if isinstance(intent, dict) else {}),
        **(source.get("metadata") or {}),
    }
    return str(metadata.get(KASSA_MERCHANT_METADATA, ""))


def _id(value: Any) -> str:
    """An id whether Stripe sent the object expanded or not."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


class _Kassa:
    """Kassa's side of the transactions read: tenders and allocations by their Stripe ids."""

    def __init__(self, transactions: list[dict[str, Any]]) -> None:
        sources = [_source(t) for t in transactions]
        charges = {_id(s.get("charge")) for s in sources} | {s.get("id", "") for s in sources}
        intents = {_id(s.get("payment_intent")) for s in sources}
        undone = [
            match["tender"]
            for s in sources
            if (
                match := UNDO_CAPTURE.match(
                    (s.get("metadata") or {}).get(KASSA_REFUND_METADATA, "")
                )
            )
        ]
        cards = Tender.objects.filter(method=Tender.Method.CARD).select_related("payment")
        self.by_charge = {
            t.stripe_charge_id: t for t in cards.filter(stripe_charge_id__in=charges - {""})
        }
        self.by_intent = {
            t.stripe_payment_intent_id: t
            for t in cards.filter(stripe_payment_intent_id__in=intents - {""})
        }
        self.by_public_id = {str(t.public_id): t for t in cards.filter(public_id__in=undone)}
        self.allocations = {
            a.stripe_refund_id: a
            for a in RefundAllocation.objects.select_related("tender__payment").filter(
                stripe_refund_id__in={s.get("id", "") for s in sources} - {""}
            )
        }

    def tender_of_charge(self, charge_id: str, intent_id: str) -> Tender | None:
        return self.by_charge.get(charge_id) or self.by_intent.get(intent_id)

    def counterpart(
        self, kind: str, source: dict[str, Any]
    ) -> tuple[Tender | None, bool, int | None]:
        """(the tender the source belongs to, whether Kassa booked it, the Kassa refund id).

        A refund at Stripe on a Kassa tender that Kassa never recorded is the tender's, but
        unbooked: it is reported unmatched, with the tender named."""
        charge_id, intent_id = _id(source.get("charge")), _id(source.get("payment_intent"))
        if kind == "charge":
            tender = self.tender_of_charge(source.get("id", ""), intent_id)
            return tender, tender is not None, None
        allocation = self.allocations.get(source.get("id", ""))
        if allocation is not None:
            return allocation.tender, True, allocation.refund_id
        undo = UNDO_CAPTURE.match((source.get("metadata") or {}).get(KASSA_REFUND_METADATA, ""))
        if undo and undo["tender"] in self.by_public_id:
            return self.by_public_id[undo["tender"]], True, None
        return self.tender_of_charge(charge_id, intent_id), False, None


def _amounts(transaction: dict[str, Any]) -> dict[str, Money]:
    currency = transaction["currency"].upper()
    return {key: from_minor_units(transaction[key], currency) for key in ("amount", "fee", "net")}


def stripe_balance_match(
    *, merchant: Merchant, since: datetime, until: datetime
) -> StripeMatchReport:
    """Match the balance transactions Stripe created in [since, until) to `merchant`'s card
    tenders and refunds. Network first (outside any transaction), then the database."""
    transactions = [
        t
        for t in _listed(
            stripe_client().v1.balance_transactions.list,
            {"limit": PAGE_SIZE, "expand": ["data.source", "data.source.payment_intent"]},
            since=since,
            until=until,
            limit=MAX_BALANCE_TRANSACTIONS,
        )
        if t.get("type") in KINDS
    ]
    payouts = _payouts_by_transaction(since=since, until=until)
    kassa = _Kassa(transactions)
    matched, unmatched = [], []
    unattributed = 0
    for transaction in transactions:
        kind, source = KINDS[transaction["type"]], _source(transaction)
        tender, booked, refund_id = kassa.counterpart(kind, source)
        if tender is not None and tender.payment.merchant_id != merchant.pk:
            continue  # another merchant's
        if tender is None and _owner(source) != str(merchant.pk):
            unattributed += 1  # nobody's, as far as Kassa can tell: not this merchant's
            continue
        amounts = _amounts(transaction)
        payout_id = payouts.get(transaction["id"])
        if booked:
            assert tender is not None
            matched.append(
                StripeMatch(
                    balance_transaction_id=transaction["id"],
                    kind=kind,
                    tender_id=tender.pk,
                    refund_id=refund_id,
                    gross=amounts["amount"],
                    fee=amounts["fee"],
                    net=amounts["net"],
                    payout_id=payout_id,
                )
            )
            continue
        unmatched.append(
            {
                "balance_transaction_id": transaction["id"],
                "kind": kind,
                "source_id": source.get("id", ""),
                "payment_intent_id": _id(source.get("payment_intent")),
                "tender_id": tender.pk if tender is not None else None,
                "gross": amounts["amount"],
                "fee": amounts["fee"],
                "net": amounts["net"],
                "created": _created(transaction),
                "payout_id": payout_id,
            }
        )
    booked_charges = {m.tender_id for m in matched if m.kind == "charge"}
    captured = Tender.objects.filter(
        payment__merchant=merchant,
        payment__captured_at__gte=since,
        payment__captured_at__lt=until,
        payment__status=Payment.Status.CAPTURED,
        method=Tender.Method.CARD,
        status=Tender.Status.CAPTURED,
    ).order_by("pk")
    if unattributed:
        logger.info(
            "%d Stripe balance transaction(s) in [%s, %s) name no Kassa tender nor merchant",
            unattributed,
            since.isoformat(),
            until.isoformat(),
        )
    return StripeMatchReport(
        unattributed=unattributed,
        matched=matched,
        unmatched_stripe=unmatched,
        unmatched_kassa=[
            pk for pk in captured.values_list("pk", flat=True) if pk not in booked_charges
        ],
    )
