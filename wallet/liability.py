"""Stored-value liability per merchant, currency and day, computed from ledger entries.

What a merchant owes its customers is what its instrument accounts hold: gift cards (issued -
redeemed - expired to breakage ± adjustments) and loyalty points (valued at the programme's
point value). Vouchers are promotions nobody paid for: their funding account is reported as the
discount granted and the discount reserved by open payments, not as a liability. Breakage
recognised is the gift card value expired or forfeited plus expired points at point value.

Every figure is a sum of `Entry` rows whose transfer was created before the day's end (in the
time zone of the merchant's first store), grouped by account kind and transfer code, so a day
already closed always computes the same: the ledger is append-only. For today it equals the
ledger's current balances (the cached counters `ledger_check` verifies).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from moneyed import Money

from config.money import round_money
from merchants.models import Merchant, Store
from wallet.models import Entry, LedgerAccount, LiabilitySnapshot, LoyaltyProgramme, Transfer
from wallet.pricing import points_to_money
from wallet.units import POINTS_PREFIX, is_points_unit

Kind, Code = LedgerAccount.Kind, Transfer.Code
_KINDS = (Kind.GIFT_CARD, Kind.LOYALTY, Kind.VOUCHER_FUNDING)
_FORFEITED = (Code.BREAKAGE, Code.POINTS_EXPIRY)
BACKFILL_DAYS = 7


@dataclass(frozen=True)
class Liability:
    currency: str
    day: date
    gift_card_issued: Money
    gift_card_redeemed: Money
    gift_card_breakage: Money
    gift_card_adjusted: Money
    gift_card_outstanding: Money
    gift_card_held: Money
    voucher_funding_used: Money
    voucher_funding_held: Money
    points_outstanding: int
    points_held: int
    points_expired: int
    point_value: Decimal
    points_value: Money
    breakage_recognised: Money
    deferred_revenue: Money


def merchant_zone(merchant: Merchant) -> ZoneInfo:
    """The time zone of the merchant's business day: its first store's, else the server's."""
    store = Store.objects.filter(merchant=merchant).order_by("pk").first()
    return ZoneInfo(store.timezone if store is not None else settings.TIME_ZONE)


def day_end(merchant: Merchant, day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=merchant_zone(merchant))


def last_closed_day(merchant: Merchant, *, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(merchant_zone(merchant)).date() - timedelta(days=1)


def _currency(unit: str) -> str:
    return unit.removeprefix(POINTS_PREFIX) if is_points_unit(unit) else unit


class _Sums:
    """{(kind, currency, code, layer, side): summed entry amounts} for one merchant."""

    def __init__(self, merchant: Merchant, before: datetime) -> None:
        self.sums: dict[tuple[str, str, str, str, str], Decimal] = defaultdict(Decimal)
        # Every currency the merchant holds value in, zero on the days before it did.
        units = LedgerAccount.objects.filter(merchant=merchant, kind__in=_KINDS).values_list(
            "unit", flat=True
        )
        self.units = {_currency(unit) for unit in units.distinct().order_by()}
        rows = (
            Entry.objects.filter(
                account__merchant=merchant,
                account__kind__in=_KINDS,
                transfer__created_at__lt=before,
            )
            .values("account__kind", "account__unit", "transfer__code", "layer", "side")
            .annotate(total=Sum("amount"))
            .order_by()
        )
        for row in rows:
            currency = _currency(row["account__unit"])
            key = (row["account__kind"], currency, row["transfer__code"], row["layer"], row["side"])
            self.sums[key] += row["total"]

    def currencies(self) -> list[str]:
        return sorted(self.units)

    def net(self, kind: str, currency: str, *codes: str) -> Decimal:
        """Posted credits - posted debits on `kind` accounts, for `codes` (all when none)."""
        return sum(
            (
                total if side == Entry.Side.CREDIT else -total
                for (k, c, code, layer, side), total in self.sums.items()
                if (k, c, layer) == (kind, currency, Entry.Layer.POSTED)
                and (not codes or code in codes)
            ),
            Decimal(0),
        )

    def held(self, kind: str, currency: str) -> Decimal:
        return sum(
            (
                total
                for (k, c, _, layer, side), total in self.sums.items()
                if (k, c, layer, side) == (kind, currency, Entry.Layer.PENDING, Entry.Side.DEBIT)
            ),
            Decimal(0),
        )


def liability_as_of(*, merchant: Merchant, day: date) -> list[Liability]:
    """The merchant's liability at the end of `day`, one per currency it holds value in."""
    sums = _Sums(merchant, day_end(merchant, day))
    values = dict(
        LoyaltyProgramme.objects.filter(merchant=merchant).values_list("currency", "point_value")
    )
    answers = []
    for currency in sums.currencies():

        def money(amount: Decimal, currency: str = currency) -> Money:
            return round_money(amount, currency)

        issued = sums.net(Kind.GIFT_CARD, currency, Code.ISSUE, Code.RELOAD)
        redeemed = -sums.net(Kind.GIFT_CARD, currency, Code.REDEMPTION, Code.REFUND)
        breakage = -sums.net(Kind.GIFT_CARD, currency, *_FORFEITED)
        outstanding = sums.net(Kind.GIFT_CARD, currency)
        points = int(sums.net(Kind.LOYALTY, currency))
        expired = int(-sums.net(Kind.LOYALTY, currency, *_FORFEITED))
        point_value = values.get(currency, Decimal(0))
        points_value = points_to_money(points=points, point_value=point_value, currency=currency)
        expired_value = points_to_money(points=expired, point_value=point_value, currency=currency)
        answers.append(
            Liability(
                currency=currency,
                day=day,
                gift_card_issued=money(issued),
                gift_card_redeemed=money(redeemed),
                gift_card_breakage=money(breakage),
                gift_card_adjusted=money(outstanding - issued + redeemed + breakage),
                gift_card_outstanding=money(outstanding),
                gift_card_held=money(sums.held(Kind.GIFT_CARD, currency)),
                voucher_funding_used=money(-sums.net(Kind.VOUCHER_FUNDING, currency)),
                voucher_funding_held=money(sums.held(Kind.VOUCHER_FUNDING, currency)),
                points_outstanding=points,
                points_held=int(sums.held(Kind.LOYALTY, currency)),
                points_expired=expired,
                point_value=point_value,
                points_value=points_value,
                breakage_recognised=money(breakage) + expired_value,
                deferred_revenue=money(outstanding) + points_value,
            )
        )
    return answers


def liability_snapshot_write(*, merchant: Merchant, day: date) -> list[LiabilitySnapshot]:
    """Write (or rewrite, identically for a closed day) the day's snapshots."""
    written = []
    with transaction.atomic():
        for liability in liability_as_of(merchant=merchant, day=day):
            fields = {
                name: value.amount if isinstance(value, Money) else value
                for name, value in vars(liability).items()
                if name not in ("currency", "day")
            }
            snapshot, _ = LiabilitySnapshot.objects.update_or_create(
                merchant=merchant, currency=liability.currency, day=day, defaults=fields
            )
            written.append(snapshot)
    return written


def liability_snapshots_due(*, now: datetime | None = None) -> int:
    """For every merchant with stored value, write the closed days of the last week that have
    no snapshot yet; answers how many days were written (0 when run again)."""
    written = 0
    merchants = Merchant.objects.filter(
        pk__in=LedgerAccount.objects.filter(kind__in=_KINDS).values("merchant_id")
    ).order_by("pk")
    for merchant in merchants:
        last = last_closed_day(merchant, now=now)
        days = [last - timedelta(days=back) for back in range(BACKFILL_DAYS)]
        done = set(
            LiabilitySnapshot.objects.filter(merchant=merchant, day__in=days).values_list(
                "day", flat=True
            )
        )
        for day in days:
            if day not in done and liability_snapshot_write(merchant=merchant, day=day):
                written += 1
    return written
