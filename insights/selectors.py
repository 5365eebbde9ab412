"""Reading offers (precomputed rows only, no model is loaded per request) and campaign
reports."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from customers.models import ConsentPurpose, Customer
from customers.services import consent_allows_sql
from insights.models import (
    Campaign,
    CampaignMember,
    Feedback,
    Popular,
    Product,
    Purchase,
    Recommendation,
)
from insights.recommend import REASON_POPULAR
from insights.uplift import Difference, difference
from wallet.models import VoucherRedemption

RATE = Decimal("0.0001")
# Asked in a channel, an offer's score is multiplied by this plus the product's share of
# purchases in that channel: what is bought there comes first, the rest is not dropped.
CHANNEL_FLOOR = 0.5
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Offer:
    sku: str
    name: str
    category: str
    price: Decimal | None
    currency: str
    reason: str
    score: float


# The customer's dismissed products (params: customer id, kind), left out of any offers.
_DISMISSED = f"SELECT sku FROM {Feedback._meta.db_table} WHERE customer_id = %s AND kind = %s"  # noqa: S608
# A product not (yet) in the catalogue reads as blanks, as an unsaved `Product(sku=sku)` would.
_PRODUCT_COLUMNS = "p.name, p.category, p.last_price, p.currency"


def offers_for(
    *, customer: Customer, channel: str = "", limit: int = 10
) -> tuple[bool, list[Offer]]:
    """(personalised, offers): the customer's own offers with consent, else popular ones.

    Dismissed products are left out either way: the customer said so. Asked in a channel,
    the customer's offers bought in that channel come first (`CHANNEL_FLOOR`). One query reads
    the consent, the ranked offers and their products; a second, for the popular ones, only
    when there is no own offer: this is a hot read (issue 16), so plain SQL, not the ORM.
    """
    allowed, allowed_params = consent_allows_sql(
        customer=customer, purpose=ConsentPurpose.PERSONALISATION
    )
    ranked = "r.score"
    ranked_params: list[float | str] = []
    if channel:
        ranked = "r.score * (%s + COALESCE((r.channel_shares ->> %s)::double precision, 0.0))"
        ranked_params = [CHANNEL_FLOOR, channel]
    # Only table names and fixed fragments are formatted in; every value is a parameter.
    own = f"""
        SELECT c.allowed, o.sku, o.ranked, o.reason, {_PRODUCT_COLUMNS}
        FROM (SELECT {allowed} AS allowed) c
        LEFT JOIN LATERAL (
            SELECT r.sku, {ranked} AS ranked, r.reason
            FROM {Recommendation._meta.db_table} r
            WHERE c.allowed AND r.customer_id = %s AND r.sku NOT IN ({_DISMISSED})
            ORDER BY ranked DESC, r.sku LIMIT %s
        ) o ON true
        LEFT JOIN {Product._meta.db_table} p ON p.merchant_id = %s AND p.sku = o.sku
        ORDER BY o.ranked DESC, o.sku
    """  # noqa: S608
    params: list[int | float | str] = [
        *allowed_params,
        *ranked_params,
        customer.pk,
        customer.pk,
        Feedback.Kind.NOT_INTERESTED,
        limit,
        customer.merchant_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(own, params)
        rows = cursor.fetchall()
        personalised = bool(rows[0][0]) and rows[0][1] is not None
        if personalised:
            return True, [_offer(row[1:]) for row in rows]
        cursor.execute(
            f"""
            SELECT pop.sku, pop.score, {_PRODUCT_COLUMNS}
            FROM {Popular._meta.db_table} pop
            LEFT JOIN {Product._meta.db_table} p
                ON p.merchant_id = pop.merchant_id AND p.sku = pop.sku
            WHERE pop.merchant_id = %s AND pop.channel = %s AND pop.sku NOT IN ({_DISMISSED})
            ORDER BY pop.rank LIMIT %s
            """,  # noqa: S608
            [
                customer.merchant_id,
                channel,
                customer.pk,
                Feedback.Kind.NOT_INTERESTED,
                limit,
            ],
        )
        return False, [_offer((sku, score, REASON_POPULAR, *rest)) for sku, score, *rest in cursor]


def _offer(row: tuple[Any, ...]) -> Offer:
    sku, score, reason, name, category, price, currency = row
    return Offer(
        sku=sku,
        name=name or "",
        category=category or "",
        price=price,
        currency=currency or "",
        reason=reason,
        score=round(score, 4),
    )


@dataclass(frozen=True)
class CampaignReport:
    """Targeted against holdout over the campaign's window (launch to expiry, or now)."""

    targeted: int
    holdout: int
    since: datetime
    until: datetime
    redeemed: int  # targeted customers who used their voucher
    redemption_rate: Decimal
    buying: Difference  # share of each group that bought in the window
    revenue: Difference  # net spend per customer in the window, in `currency`
    currency: str


def campaign_report(*, campaign: Campaign, now: datetime | None = None) -> CampaignReport | None:
    """None before the launch."""
    if campaign.launched_at is None:
        return None
    since = campaign.launched_at
    until = min(since + timedelta(days=campaign.valid_days), now or timezone.now())
    members = list(CampaignMember.objects.filter(campaign=campaign))
    spend: defaultdict[int, Decimal] = defaultdict(Decimal)
    rows = Purchase.objects.filter(
        merchant_id=campaign.merchant_id,
        customer_id__in=[member.customer_id for member in members],
        occurred_at__gte=since,
        occurred_at__lte=until,
    )
    buyers: set[int] = set()
    for row in rows:
        if row.net_quantity > 0:
            buyers.add(row.customer_id)
        if row.currency == campaign.currency:  # another currency's spend cannot be added in
            spend[row.customer_id] += row.net_spend
    redeemed = (
        VoucherRedemption.objects.filter(
            voucher_id__in=[m.voucher_id for m in members if m.voucher_id is not None],
            status=VoucherRedemption.Status.CONSUMED,
        )
        .values("voucher_id")
        .distinct()
        .count()
    )
    groups: dict[bool, list[CampaignMember]] = {True: [], False: []}
    for member in members:
        groups[member.holdout].append(member)
    targeted = len(groups[False])

    def bought(group: list[CampaignMember]) -> list[Decimal]:
        return [Decimal(1) if m.customer_id in buyers else Decimal(0) for m in group]

    def revenue(group: list[CampaignMember]) -> list[Decimal]:
        return [spend[m.customer_id] for m in group]

    return CampaignReport(
        targeted=targeted,
        holdout=len(groups[True]),
        since=since,
        until=until,
        redeemed=redeemed,
        redemption_rate=(Decimal(redeemed) / targeted if targeted else Decimal(0)).quantize(RATE),
        buying=difference(bought(groups[False]), bought(groups[True]), places=RATE),
        revenue=difference(revenue(groups[False]), revenue(groups[True]), places=CENTS),
        currency=campaign.currency,
    )


def campaign_vouchers_pending(*, campaign: Campaign) -> int:
    """Targeted members still waiting for their voucher (issued by the launch task)."""
    return CampaignMember.objects.filter(
        campaign=campaign, holdout=False, voucher__isnull=True
    ).count()
