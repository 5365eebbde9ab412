"""Reading offers (precomputed rows only, no model is loaded per request) and campaign
reports."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, FloatField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from customers.models import ConsentPurpose, Customer
from customers.services import consent_allows
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


def offers_for(
    *, customer: Customer, channel: str = "", limit: int = 10
) -> tuple[bool, list[Offer]]:
    """(personalised, offers): the customer's own offers with consent, else popular ones.

    Dismissed products are left out either way: the customer said so. Asked in a channel,
    the customer's offers bought in that channel come first (`CHANNEL_FLOOR`).
    """
    # Subqueries, not reads: the dismissed products are left out in the database.
    dismissed = Feedback.objects.filter(
        customer=customer, kind=Feedback.Kind.NOT_INTERESTED
    ).values("sku")
    personalised = consent_allows(customer=customer, purpose=ConsentPurpose.PERSONALISATION)
    picked: list[tuple[str, float, str]] = []
    if personalised:
        rows = Recommendation.objects.filter(customer=customer).exclude(sku__in=dismissed)
        if channel:  # ranked in SQL: only `limit` rows leave the database
            share = Coalesce(
                Cast(KeyTextTransform(channel, "channel_shares"), FloatField()), Value(0.0)
            )
            rows = rows.annotate(ranked=F("score") * (Value(CHANNEL_FLOOR) + share))
            picked = list(
                rows.order_by("-ranked", "sku").values_list("sku", "ranked", "reason")[:limit]
            )
        else:
            picked = list(
                rows.order_by("-score", "sku").values_list("sku", "score", "reason")[:limit]
            )
    if not picked:
        personalised = False
        popular = Popular.objects.filter(merchant_id=customer.merchant_id, channel=channel)
        picked = [
            (sku, score, REASON_POPULAR)
            for sku, score in popular.exclude(sku__in=dismissed)
            .order_by("rank")
            .values_list("sku", "score")[:limit]
        ]
    products = {
        row.sku: row
        for row in Product.objects.filter(
            merchant_id=customer.merchant_id, sku__in=[sku for sku, _, _ in picked]
        )
    }
    offers = []
    for sku, score, reason in picked:
        product = products.get(sku) or Product(sku=sku)
        offers.append(
            Offer(
                sku=sku,
                name=product.name,
                category=product.category,
                price=product.last_price,
                currency=product.currency,
                reason=reason,
                score=round(score, 4),
            )
        )
    return personalised, offers


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
