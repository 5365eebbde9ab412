"""Reads behind a settlement: the day's window, the tenders sold and refunds given per till,
the payments still moving, and the filtered lists the API, the admin and the exports show."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, Model, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from moneyed import Money

from merchants.models import Merchant, Store
from payments.models import Payment, Refund, RefundAllocation, Tender
from reconciliation.models import Settlement, SettlementAdjustment, SettlementLine

# A payment or refund created longer ago than this before a day is not looked at again as a late
# correction of an earlier, locked day (a card is captured within days; a till replays within
# its offline policy's maximum age).
LATE_LOOKBACK = timedelta(days=31)
NOT_FINAL = (
    Payment.Status.AUTHORIZING,
    Payment.Status.REQUIRES_ACTION,
    Payment.Status.AUTHORIZED,
    Payment.Status.CAPTURING,
    Payment.Status.VOIDING,
)


def web_timezone() -> str:
    return str(getattr(settings, "KASSA_WEB_TIMEZONE", "Europe/Amsterdam"))


def day_zone(store: Store | None) -> str:
    return store.timezone if store is not None else web_timezone()


def day_window(*, zone: str, business_day: date) -> tuple[datetime, datetime]:
    """[start, end) of the business day in the zone, as aware datetimes."""
    tz = ZoneInfo(zone)
    start = datetime.combine(business_day, time.min, tzinfo=tz)
    end = datetime.combine(business_day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


@dataclass(frozen=True)
class Scope:
    """Whose payments a settlement row covers: one till's, or (store None) the web shop's."""

    merchant: Merchant
    store: Store | None
    terminal_id: int | None
    currency: str


def same_or_null(field: str, value: int | None) -> Q:
    return Q(**{field: value}) if value is not None else Q(**{f"{field}__isnull": True})


def _decimal(value: Decimal | Money) -> Decimal:
    """values_list() hands a money column's amount back as a Decimal (typed as Money)."""
    return value.amount if isinstance(value, Money) else value


@dataclass(frozen=True)
class SaleRow:
    tender_id: int
    payment_id: int
    method: str
    amount: Decimal
    made_at: datetime
    recorded_at: datetime
    offline: bool
    offline_late: bool


@dataclass(frozen=True)
class RefundRow:
    allocation_id: int
    refund_id: int
    tender_id: int
    method: str
    amount: Decimal
    made_at: datetime
    recorded_at: datetime
    sale_made_at: datetime
    external: bool


def _payments_of(
    merchant: Merchant, store: Store | None, terminal_id: int | None, path: str = "payment"
) -> Q:
    """The payments a settlement row covers: a till's, or the merchant's store-less (web) ones."""
    if store is None:
        return Q(**{f"{path}__merchant": merchant, f"{path}__store__isnull": True})
    return Q(
        **{
            f"{path}__merchant": merchant,
            f"{path}__store": store,
            f"{path}__terminal_id": terminal_id,
        }
    )


_M = TypeVar("_M", bound=Model)


def _in_window(
    rows: QuerySet[_M],
    *,
    made_field: str,
    created_field: str,
    made: tuple[datetime, datetime] | None,
    made_before: datetime | None,
    created_since: datetime | None,
) -> QuerySet[_M]:
    """Rows made in [start, end), or made before a moment, or recorded since one."""
    if made is not None:
        rows = rows.filter(**{f"{made_field}__gte": made[0], f"{made_field}__lt": made[1]})
    if made_before is not None:
        rows = rows.filter(**{f"{made_field}__lt": made_before})
    if created_since is not None:
        rows = rows.filter(**{f"{created_field}__gte": created_since})
    return rows


def sale_rows(
    *,
    scope: Scope,
    made: tuple[datetime, datetime] | None = None,
    made_before: datetime | None = None,
    created_since: datetime | None = None,
) -> list[SaleRow]:
    """Captured tenders, each with when the sale was made (a till's offline clock first) and
    when the server recorded its capture."""
    rows = Tender.objects.filter(
        _payments_of(scope.merchant, scope.store, scope.terminal_id),
        captured_amount__gt=0,
        captured_amount_currency=scope.currency,
    ).annotate(
        made_at=Coalesce("payment__occurred_at", "payment__created_at"),
        recorded_at=Coalesce("payment__captured_at", "payment__created_at"),
    )
    windowed = _in_window(
        rows,
        made_field="made_at",
        created_field="payment__created_at",
        made=made,
        made_before=made_before,
        created_since=created_since,
    )
    values = windowed.values_list(
        "id",
        "payment_id",
        "method",
        "captured_amount",
        "made_at",
        "recorded_at",
        "payment__offline",
        "payment__offline_late",
    ).order_by("id")
    return [
        SaleRow(t, p, method, _decimal(amount), made_at, recorded_at, offline, late)
        for t, p, method, amount, made_at, recorded_at, offline, late in values
    ]


def refund_rows(
    *,
    scope: Scope,
    made: tuple[datetime, datetime] | None = None,
    made_before: datetime | None = None,
    created_since: datetime | None = None,
) -> list[RefundRow]:
    """Succeeded refund allocations, by the time the refund was asked for."""
    rows = RefundAllocation.objects.filter(
        _payments_of(scope.merchant, scope.store, scope.terminal_id, "tender__payment")
        & Q(refund__status=Refund.Status.SUCCEEDED),
        amount_currency=scope.currency,
    ).annotate(
        recorded_at=Coalesce("refund__completed_at", "refund__created_at"),
        sale_made_at=Coalesce("tender__payment__occurred_at", "tender__payment__created_at"),
    )
    windowed = _in_window(
        rows,
        made_field="refund__created_at",
        created_field="refund__created_at",
        made=made,
        made_before=made_before,
        created_since=created_since,
    )
    values = windowed.values_list(
        "id",
        "refund_id",
        "tender_id",
        "tender__method",
        "amount",
        "refund__created_at",
        "recorded_at",
        "sale_made_at",
        "refund__external",
    ).order_by("id")
    return [
        RefundRow(a, r, t, method, _decimal(amount), made_at, recorded_at, sale_made_at, ext)
        for a, r, t, method, amount, made_at, recorded_at, sale_made_at, ext in values
    ]


def tenders_in_scope(*, scope: Scope, tender_ids: set[int]) -> set[int]:
    """Which of these tenders are this till's (or the web shop's), in the scope's currency."""
    if not tender_ids:
        return set()
    rows = Tender.objects.filter(
        _payments_of(scope.merchant, scope.store, scope.terminal_id),
        pk__in=tender_ids,
        amount_currency=scope.currency,
    )
    return set(rows.values_list("pk", flat=True))


def tender_keys(
    *, merchant: Merchant, store: Store | None, tender_ids: set[int]
) -> set[tuple[int | None, str]]:
    """(till, currency) of the store's (or the web shop's) tenders among these."""
    if not tender_ids:
        return set()
    rows = Tender.objects.filter(
        Q(payment__merchant=merchant)
        & (Q(payment__store__isnull=True) if store is None else Q(payment__store=store)),
        pk__in=tender_ids,
    )
    return set(rows.values_list("payment__terminal_id", "amount_currency").distinct())


def settlement_keys(
    *, merchant: Merchant, store: Store | None, business_day: date, start: datetime, end: datetime
) -> set[tuple[int | None, str]]:
    """(till, currency) pairs with something to settle in the window: sales, refunds, sessions,
    late corrections, or a row computed before."""
    from tills.models import TillSession

    owner = Q(payment__merchant=merchant) & (
        Q(payment__store__isnull=True) if store is None else Q(payment__store=store)
    )
    tenders = Tender.objects.filter(owner)
    made = Coalesce("payment__occurred_at", "payment__created_at")
    keys: set[tuple[int | None, str]] = set()
    for terminal_id, currency in (
        tenders.annotate(made_at=made)
        .filter(
            Q(made_at__gte=start, made_at__lt=end)
            | Q(payment__created_at__gte=start, payment__created_at__lt=end)
            | Q(payment__captured_at__gte=start, payment__captured_at__lt=end)
        )
        .values_list("payment__terminal_id", "captured_amount_currency")
        .distinct()
    ):
        keys.add((terminal_id, currency))
    allocations = RefundAllocation.objects.filter(
        Q(tender__payment__merchant=merchant)
        & (
            Q(tender__payment__store__isnull=True)
            if store is None
            else Q(tender__payment__store=store)
        ),
        refund__created_at__gte=start,
        refund__created_at__lt=end,
    ).values_list("tender__payment__terminal_id", "amount_currency")
    keys.update(allocations.distinct())
    if store is not None:
        sessions = TillSession.objects.filter(
            terminal__store=store, opened_at__gte=start, opened_at__lt=end
        ).values_list("terminal_id", "float_amount_currency")
        keys.update(sessions.distinct())
    existing = Settlement.objects.filter(merchant=merchant, store=store, business_day=business_day)
    keys.update(existing.values_list("terminal_id", "currency"))
    # Tills with a recently locked day may have a late correction for this one to carry.
    locked = Settlement.objects.filter(
        merchant=merchant,
        store=store,
        status__in=Settlement.LOCKED,
        business_day__lt=business_day,
        business_day__gte=business_day - LATE_LOOKBACK,
    )
    keys.update(locked.values_list("terminal_id", "currency").distinct())
    return keys


def pending_payments(*, settlement: Settlement, start: datetime, end: datetime) -> list[str]:
    """Public ids of the day's payments, and of refunds, not in a final state yet."""
    payments_of = (
        Q(merchant_id=settlement.merchant_id, store__isnull=True)
        if settlement.store_id is None
        else Q(merchant_id=settlement.merchant_id, terminal_id=settlement.terminal_id)
    )
    payments = (
        Payment.objects.annotate(made_at=Coalesce("occurred_at", "created_at"))
        .filter(payments_of, made_at__gte=start, made_at__lt=end, status__in=NOT_FINAL)
        .order_by("id")
        .values_list("public_id", flat=True)
    )
    refunds = (
        Refund.objects.filter(
            Q(payment__merchant_id=settlement.merchant_id)
            & (
                Q(payment__store__isnull=True)
                if settlement.store_id is None
                else Q(payment__terminal_id=settlement.terminal_id)
            ),
            status=Refund.Status.PENDING,
            created_at__gte=start,
            created_at__lt=end,
        )
        .order_by("id")
        .values_list("payment__public_id", flat=True)
    )
    return [str(public_id) for public_id in [*payments, *refunds]]


def claimed_elsewhere(*, settlement: Settlement) -> tuple[set[int], set[int]]:
    """Tenders and refund allocations another settlement already carries as adjustments."""
    others = SettlementAdjustment.objects.filter(
        same_or_null("settlement__store_id", settlement.store_id)
        & same_or_null("settlement__terminal_id", settlement.terminal_id),
        settlement__merchant_id=settlement.merchant_id,
    ).exclude(settlement_id=settlement.pk)
    tenders = set(others.filter(tender__isnull=False).values_list("tender_id", flat=True))
    allocations = set(
        others.filter(refund_allocation__isnull=False).values_list(
            "refund_allocation_id", flat=True
        )
    )
    return {t for t in tenders if t is not None}, {a for a in allocations if a is not None}


def settlement_list(
    *,
    merchant: Merchant | None,
    store: Store | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    terminal_code: str | None = None,
    channel: str | None = None,
    method: str | None = None,
) -> QuerySet[Settlement]:
    """The merchant's settlements, filtered; each row's `filtered_lines` holds its lines (of
    `method` only, when given). No merchant: every merchant's (the back office)."""
    rows = Settlement.objects.select_related("merchant", "store", "terminal")
    if merchant is not None:
        rows = rows.filter(merchant=merchant)
    if store is not None:
        rows = rows.filter(store=store)
    if channel == "web":
        rows = rows.filter(store__isnull=True)
    elif channel == "pos":
        rows = rows.filter(store__isnull=False)
    if day_from is not None:
        rows = rows.filter(business_day__gte=day_from)
    if day_to is not None:
        rows = rows.filter(business_day__lte=day_to)
    if terminal_code:
        rows = rows.filter(terminal__code=terminal_code)
    lines = SettlementLine.objects.select_related("adjusts").order_by("kind", "method", "id")
    if method:
        rows = rows.filter(
            Exists(SettlementLine.objects.filter(settlement=OuterRef("pk"), method=method))
        )
        lines = lines.filter(method=method)
    return rows.prefetch_related(Prefetch("lines", queryset=lines, to_attr="filtered_lines"))


def settlement_payments(*, settlement: Settlement, method: str | None = None) -> QuerySet[Any]:
    """The payments behind a settlement's figures (made that day, or refunded that day)."""
    start, end = day_window(zone=settlement.timezone, business_day=settlement.business_day)
    owner = (
        Q(merchant_id=settlement.merchant_id, store__isnull=True)
        if settlement.store_id is None
        else Q(merchant_id=settlement.merchant_id, terminal_id=settlement.terminal_id)
    )
    made = Q(made_at__gte=start, made_at__lt=end, captured_amount__gt=0)
    refunded = Q(refunds__created_at__gte=start, refunds__created_at__lt=end)
    rows = Payment.objects.annotate(made_at=Coalesce("occurred_at", "created_at")).filter(
        owner & (made | refunded), amount_currency=settlement.currency
    )
    if method:
        rows = rows.filter(tenders__method=method)
    return rows.distinct().order_by("made_at", "id")
