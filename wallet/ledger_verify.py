"""The ledger's self-check (`manage.py ledger_check`): recompute what the writes in
`wallet.ledger` keep, and report every disagreement."""

from decimal import Decimal

from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from wallet.models import Entry, GiftCard, LedgerAccount, LoyaltyAccount, Transfer
from wallet.units import is_exact_in_unit

COUNTERS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
_DEBIT, _CREDIT = Entry.Side.DEBIT, Entry.Side.CREDIT
_PENDING, _POSTED = Entry.Layer.PENDING, Entry.Layer.POSTED


_EXPECTED_ENTRY_COUNT = {
    Transfer.Kind.POSTED: 2,
    Transfer.Kind.PENDING: 2,
    Transfer.Kind.POST_PENDING: 4,
    Transfer.Kind.VOID_PENDING: 2,
}


def _account_problems() -> list[str]:
    zero = Decimal(0)
    sums = {
        row["account_id"]: row
        for row in Entry.objects.values("account_id").annotate(
            **{
                f"{side}s_{layer}": Sum("amount", filter=Q(side=side, layer=layer), default=zero)
                for side in (_DEBIT, _CREDIT)
                for layer in (_PENDING, _POSTED)
            }
        )
    }
    problems = []
    for account in LedgerAccount.objects.order_by("pk").iterator(chunk_size=2000):
        summed = sums.get(account.pk, dict.fromkeys(COUNTERS, zero))
        if account.is_system:
            continue
        for counter in COUNTERS:
            cached = getattr(account, counter)
            if cached != summed[counter]:
                problems.append(
                    f"account {account.pk} ({account}): cached {counter} {cached} "
                    f"!= {summed[counter]} summed from its entries"
                )
            if summed[counter] < 0:
                problems.append(f"account {account.pk} ({account}): {counter} is negative")
        available = summed["credits_posted"] - summed["debits_posted"] - summed["debits_pending"]
        if available < 0:
            problems.append(f"account {account.pk} ({account}): available {available} < 0")
    return problems


def _transfer_problems() -> list[str]:
    problems = []
    signed = Case(When(side=_CREDIT, then=F("amount")), default=-F("amount"))
    for row in (
        Entry.objects.values("transfer_id", "layer")
        .annotate(net=Sum(signed))
        .exclude(net=0)
        .order_by("transfer_id")
    ):
        problems.append(
            f"transfer {row['transfer_id']}: {row['layer']} entries sum to {row['net']}, not 0"
        )
    misplaced = Entry.objects.filter(
        (Q(side=_DEBIT) & ~Q(account_id=F("transfer__debit_account_id")))
        | (Q(side=_CREDIT) & ~Q(account_id=F("transfer__credit_account_id")))
    )
    for entry in misplaced.order_by("pk"):
        problems.append(f"entry {entry.pk}: {entry.side} on an account its transfer does not name")

    zero = Value(Decimal(0))
    transfers = (
        Transfer.objects.select_related("pending", "reverses", "debit_account", "credit_account")
        .annotate(
            entry_count=Count("entries"),
            posted_credit=Coalesce(
                Sum("entries__amount", filter=Q(entries__side=_CREDIT, entries__layer=_POSTED)),
                zero,
            ),
            pending_credit=Coalesce(
                Sum("entries__amount", filter=Q(entries__side=_CREDIT, entries__layer=_PENDING)),
                zero,
            ),
        )
        .order_by("pk")
    )
    for transfer in transfers.iterator(chunk_size=2000):
        problems.extend(_one_transfer_problems(transfer))
    return problems


def _one_transfer_problems(transfer: Transfer) -> list[str]:
    label = f"transfer {transfer.pk} ({transfer.kind} {transfer.code})"
    problems = []
    accounts = (transfer.debit_account, transfer.credit_account)
    if any(account.unit != transfer.unit for account in accounts):
        problems.append(f"{label}: unit {transfer.unit} differs from an account's unit")
    if any(account.merchant_id != transfer.merchant_id for account in accounts):
        problems.append(f"{label}: an account belongs to another merchant")
    if not is_exact_in_unit(transfer.amount, transfer.unit):
        problems.append(f"{label}: {transfer.amount} is not exact in {transfer.unit}")
    count: int = transfer.entry_count  # type: ignore[attr-defined]
    if count != _EXPECTED_ENTRY_COUNT[Transfer.Kind(transfer.kind)]:
        problems.append(f"{label}: has {count} entries")
    hold = transfer.pending
    held = hold.amount if hold is not None else Decimal(0)
    expected_posted, expected_pending = {
        Transfer.Kind.POSTED: (transfer.amount, Decimal(0)),
        Transfer.Kind.PENDING: (Decimal(0), transfer.amount),
        Transfer.Kind.POST_PENDING: (transfer.amount, -held),
        Transfer.Kind.VOID_PENDING: (Decimal(0), -held),
    }[Transfer.Kind(transfer.kind)]
    if transfer.posted_credit != expected_posted:  # type: ignore[attr-defined]
        problems.append(f"{label}: posted entries do not move {expected_posted}")
    if transfer.pending_credit != expected_pending:  # type: ignore[attr-defined]
        problems.append(f"{label}: pending entries do not move {expected_pending}")
    if hold is not None:
        if hold.kind != Transfer.Kind.PENDING:
            problems.append(f"{label}: resolves transfer {hold.pk}, which is not a hold")
        if (hold.debit_account_id, hold.credit_account_id, hold.unit) != (
            transfer.debit_account_id,
            transfer.credit_account_id,
            transfer.unit,
        ):
            problems.append(f"{label}: accounts or unit differ from its hold {hold.pk}")
        if transfer.kind == Transfer.Kind.POST_PENDING and transfer.amount > hold.amount:
            problems.append(f"{label}: posts {transfer.amount}, more than held {hold.amount}")
        if transfer.kind == Transfer.Kind.VOID_PENDING and transfer.amount != hold.amount:
            problems.append(f"{label}: releases {transfer.amount}, not the held {hold.amount}")
    original = transfer.reverses
    if original is not None and (
        original.debit_account_id != transfer.credit_account_id
        or original.credit_account_id != transfer.debit_account_id
    ):
        problems.append(f"{label}: does not run opposite to transfer {original.pk}")
    return problems


def _reversal_problems() -> list[str]:
    over = (
        Transfer.objects.annotate(reversed=Sum("reversals__amount"))
        .filter(reversed__gt=F("amount"))
        .order_by("pk")
    )
    return [f"transfer {t.pk}: reversed {t.reversed} of {t.amount}" for t in over]


def _instrument_problems() -> list[str]:
    problems = []
    for card in GiftCard.objects.select_related("account").exclude(
        account__kind=LedgerAccount.Kind.GIFT_CARD, account__unit=F("currency")
    ):
        problems.append(f"gift card {card.pk}: its account is not a {card.currency} card account")
    for loyalty in LoyaltyAccount.objects.select_related("programme", "account"):
        account = loyalty.account
        if account.kind != LedgerAccount.Kind.LOYALTY or account.unit != loyalty.programme.unit:
            problems.append(f"loyalty account {loyalty.pk}: its ledger account does not match")
    return problems


def ledger_verify() -> list[str]:
    """Recompute every cached balance from its entries and check every transfer; returns the
    problems found (empty: the ledger is consistent). Used by `manage.py ledger_check`."""
    return [
        *_account_problems(),
        *_transfer_problems(),
        *_reversal_problems(),
        *_instrument_problems(),
    ]
