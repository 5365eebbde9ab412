"""Training the recommenders into precomputed tables, and the customer's feedback on offers.

The trainer reads every purchase of a merchant: the popular lists (per channel) are counts and
tie nobody to a product; the personal model (TIFU-KNN) sees only customers who consent to
`personalisation` now, and never scores an item the customer dismissed. Each customer's rows
are written under their row lock with consent checked again, so a withdrawal that lands while
the trainer runs is not undone by it.
"""

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import median

from django.db import transaction
from django.utils import timezone

from customers.lock_objects import customers_lock_survivors
from customers.models import ConsentEvent, ConsentPurpose, Customer
from customers.services import consent_allows
from insights.errors import ProductNotFound
from insights.models import Feedback, Popular, Product, Profile, Purchase, Recommendation
from insights.recommend import (
    CATEGORY_DISMISSED_WEIGHT,
    Exclusions,
    Line,
    TifuKnn,
    popular,
    repeat_vectors,
)
from merchants.models import Merchant

OFFERS_PER_CUSTOMER = 50
POPULAR_PER_CHANNEL = 100
FAVOURITE_CATEGORIES = 3


def consenting_customer_ids(*, merchant: Merchant) -> set[int]:
    """Live customers whose latest `personalisation` consent event is a grant."""
    latest = (
        ConsentEvent.objects.filter(
            purpose=ConsentPurpose.PERSONALISATION,
            customer__merchant=merchant,
            customer__merged_into__isnull=True,
            customer__erased_at__isnull=True,
        )
        .order_by("customer_id", "-recorded_at", "-pk")
        .distinct("customer_id")
        .values_list("customer_id", "granted")
    )
    return {customer_id for customer_id, granted in latest if granted}


def exclusions_of(*, customer_ids: set[int], categories: dict[str, str]) -> dict[int, Exclusions]:
    exclusions: dict[int, Exclusions] = defaultdict(Exclusions)
    dismissed = Feedback.objects.filter(
        customer_id__in=customer_ids, kind=Feedback.Kind.NOT_INTERESTED
    ).values_list("customer_id", "sku", "category")
    for customer_id, sku, category in dismissed:
        exclusions[customer_id].skus.add(sku)
        if category or categories.get(sku):
            exclusions[customer_id].categories.add(category or categories[sku])
    return exclusions


def _popular_write(merchant: Merchant, lines: list[Line]) -> None:
    rows = []
    for channel in ["", *sorted({line.channel for line in lines if line.channel})]:
        ranked = popular(lines, channel=channel)[:POPULAR_PER_CHANNEL]
        rows += [
            Popular(merchant=merchant, channel=channel, sku=sku, rank=rank, score=score)
            for rank, (sku, score) in enumerate(ranked, start=1)
        ]
    with transaction.atomic():
        Popular.objects.filter(merchant=merchant).delete()
        Popular.objects.bulk_create(rows)


def _expected_next(
    purchases: list[Purchase], categories: dict[str, str]
) -> tuple[datetime | None, list[str]]:
    """Last order plus the median gap between orders, and the categories most orders had."""
    orders: dict[str, datetime] = {}
    in_orders: defaultdict[str, set[str]] = defaultdict(set)
    for row in purchases:
        key = row.order_key
        orders[key] = min(orders.get(key, row.occurred_at), row.occurred_at)
        if categories.get(row.sku):
            in_orders[categories[row.sku]].add(key)
    times = sorted(orders.values())
    if len(times) < 2:
        return None, []
    gap = timedelta(
        seconds=median((later - earlier).total_seconds() for earlier, later in pairwise(times))
    )
    likely = sorted(in_orders, key=lambda name: (-len(in_orders[name]), name))
    return times[-1] + gap, likely[:FAVOURITE_CATEGORIES]


def _profile(purchases: list[Purchase], categories: dict[str, str], now: datetime) -> Profile:
    """The customer's features; `purchases` are their lines with something left unrefunded."""
    spend: defaultdict[str, Decimal] = defaultdict(Decimal)
    liked: Counter[str] = Counter()
    for row in purchases:
        if row.unit_price is not None:
            spend[row.channel or "unknown"] += row.net_spend
        if categories.get(row.sku):
            liked[categories[row.sku]] += row.net_quantity
    last = max(row.occurred_at for row in purchases)
    expected_at, expected_categories = _expected_next(purchases, categories)
    return Profile(
        recency_days=max((now - last).days, 0),
        frequency=len({row.order_key for row in purchases}),
        spend_by_channel={channel: str(value) for channel, value in sorted(spend.items())},
        favourite_categories=[name for name, _ in liked.most_common(FAVOURITE_CATEGORIES)],
        expected_next_at=expected_at,
        expected_categories=expected_categories,
    )


def _channel_shares(purchases: list[Purchase]) -> dict[str, dict[str, float]]:
    """Per SKU, the share of its purchased items bought in each channel."""
    items: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in purchases:
        if row.channel:
            items[row.sku][row.channel] += row.net_quantity
    return {
        sku: {channel: round(n / sum(by.values()), 4) for channel, n in sorted(by.items())}
        for sku, by in items.items()
    }


def offers_train(*, merchant: Merchant, now: datetime | None = None) -> int:
    """Recompute popular lists, profiles and offers for the merchant; customers served."""
    now = now or timezone.now()
    purchases = [
        row
        for row in Purchase.objects.filter(merchant=merchant, occurred_at__lte=now)
        if row.net_quantity > 0
    ]
    lines = [
        Line(str(p.customer_id), p.sku, p.occurred_at, p.net_quantity, p.channel) for p in purchases
    ]
    _popular_write(merchant, lines)
    consenting = consenting_customer_ids(merchant=merchant)
    categories = dict(
        Product.objects.filter(merchant=merchant)
        .exclude(category="")
        .values_list("sku", "category")
    )
    own: dict[int, list[Purchase]] = defaultdict(list)
    for row in purchases:
        if row.customer_id in consenting:
            own[row.customer_id].append(row)
    everyone_where = _channel_shares(purchases)
    vectors = repeat_vectors([line for line in lines if int(line.customer) in own], now=now)
    model = TifuKnn(vectors)
    exclusions = exclusions_of(customer_ids=set(own), categories=categories)
    served = 0
    for customer_id, rows in own.items():
        offers = model.recommend(
            str(customer_id),
            exclusions=exclusions[customer_id],
            categories=categories,
            limit=OFFERS_PER_CUSTOMER,
        )
        where = _channel_shares(rows)
        shares = {o.sku: where.get(o.sku) or everyone_where.get(o.sku, {}) for o in offers}
        served += _customer_write(customer_id, _profile(rows, categories, now), offers, shares)
    # Nothing left to derive from (every purchase refunded): nothing derived is kept.
    for derived in (Profile, Recommendation):
        derived.objects.filter(customer__merchant=merchant).exclude(customer_id__in=own).delete()
    return served


@transaction.atomic
def _customer_write(
    customer_id: int, profile: Profile, offers: list, shares: dict[str, dict[str, float]]
) -> int:
    customer = customers_lock_survivors(customer_ids=[customer_id], allow_erased=True)[customer_id]
    if customer.pk != customer_id or not consent_allows(
        customer=customer, purpose=ConsentPurpose.PERSONALISATION
    ):
        return 0
    Recommendation.objects.filter(customer=customer).delete()
    Recommendation.objects.bulk_create(
        [
            Recommendation(
                customer=customer,
                sku=o.sku,
                score=o.score,
                reason=o.reason,
                channel_shares=shares[o.sku],
            )
            for o in offers
        ]
    )
    profile.customer = customer
    Profile.objects.filter(customer=customer).delete()
    profile.save()
    return 1


@transaction.atomic
def offer_feedback_record(*, customer: Customer, sku: str, kind: str) -> Feedback:
    """Record the answer; `not_interested` removes the offer now and down-weights its category."""
    product = Product.objects.filter(merchant_id=customer.merchant_id, sku=sku).first()
    if product is None:
        raise ProductNotFound(field="sku")
    customers_lock_survivors(customer_ids=[customer.pk])
    feedback = Feedback.objects.create(
        customer=customer, sku=sku, category=product.category, kind=kind
    )
    if kind == Feedback.Kind.NOT_INTERESTED:
        offers = Recommendation.objects.filter(customer=customer)
        offers.filter(sku=sku).delete()
        if product.category:
            same = Product.objects.filter(
                merchant_id=customer.merchant_id, category=product.category
            ).values("sku")
            for offer in offers.filter(sku__in=same):
                offer.score *= CATEGORY_DISMISSED_WEIGHT
                offer.save(update_fields=["score"])
    return feedback
