"""Segments: rule segments evaluated into memberships, learned clusters written as segments.

Both see only customers who consent to `personalisation` now. Memberships are written in one
transaction holding the row locks of the customers written, with consent read again under the
locks, so a withdrawal that lands meanwhile (its deleter runs under the same lock) is not
undone.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from customers.lock_objects import customers_lock_survivors
from insights.clusters import Bought, Clusters, clusters_learn
from insights.models import CLUSTER_NAME, Product, Purchase, Segment, SegmentMember
from insights.services.offers import consenting_customer_ids
from merchants.models import Merchant


@dataclass
class _Activity:
    channels: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    spend: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    last: datetime | None = None


def _activity(
    purchases: list[Purchase], categories: dict[str, str], since: datetime | None
) -> dict[int, _Activity]:
    seen: dict[int, _Activity] = defaultdict(_Activity)
    for row in purchases:
        if (since is not None and row.occurred_at < since) or row.net_quantity <= 0:
            continue
        activity = seen[row.customer_id]
        activity.channels.add(row.channel)
        if categories.get(row.sku):
            activity.categories.add(categories[row.sku])
        activity.orders.add(row.order_key)
        activity.spend[row.currency] += row.net_spend  # never summed across currencies
        activity.last = max(activity.last or row.occurred_at, row.occurred_at)
    return seen


def _meets(segment: Segment, activity: _Activity, now: datetime) -> bool:
    if not set(segment.channels) <= activity.channels:
        return False
    if segment.min_spend is not None and activity.spend[segment.currency] < segment.min_spend:
        return False
    if segment.min_orders is not None and len(activity.orders) < segment.min_orders:
        return False
    if segment.max_recency_days is not None and (
        activity.last is None or (now - activity.last).days > segment.max_recency_days
    ):
        return False
    return not segment.category or segment.category in activity.categories


def _members_write(
    merchant: Merchant, wanted: dict[int, set[int]], now: datetime
) -> dict[int, int]:
    """Replace each segment's members with `wanted[segment]`; members written per segment."""
    everyone = sorted({customer for members in wanted.values() for customer in members})
    with transaction.atomic():
        locked = customers_lock_survivors(customer_ids=everyone, allow_erased=True)
        consenting = consenting_customer_ids(merchant=merchant)
        written = {}
        for segment_id, members in wanted.items():
            SegmentMember.objects.filter(segment_id=segment_id).delete()
            kept = sorted({locked[c].pk for c in members} & consenting)
            SegmentMember.objects.bulk_create(
                [SegmentMember(segment_id=segment_id, customer_id=c) for c in kept]
            )
            written[segment_id] = len(kept)
        Segment.objects.filter(pk__in=list(wanted)).update(evaluated_at=now)
    return written


def segments_evaluate(*, merchant: Merchant, now: datetime | None = None) -> dict[int, int]:
    """Evaluate every rule segment of the merchant; members per segment id."""
    now = now or timezone.now()
    segments = list(Segment.objects.filter(merchant=merchant, kind=Segment.Kind.RULE))
    if not segments:
        return {}
    consenting = consenting_customer_ids(merchant=merchant)
    purchases = list(
        Purchase.objects.filter(merchant=merchant, customer_id__in=consenting, occurred_at__lte=now)
    )
    categories = _categories(merchant)
    wanted: dict[int, set[int]] = {}
    by_window: dict[int | None, dict[int, _Activity]] = {}
    for segment in segments:
        window = segment.within_days
        if window not in by_window:
            since = None if window is None else now - timedelta(days=window)
            by_window[window] = _activity(purchases, categories, since)
        wanted[segment.pk] = {
            customer
            for customer, activity in by_window[window].items()
            if _meets(segment, activity, now)
        }
    return _members_write(merchant, wanted, now)


def segments_learn(
    *, merchant: Merchant, k: int | None = None, now: datetime | None = None
) -> Clusters:
    """Cluster the consenting customers on their profile features into learned segments.

    Cluster n goes into the segment of cluster n, so a campaign naming it keeps a segment to
    point at (k-means numbers its clusters anew each run: the description says what cluster n
    is now); clusters a new run no longer has are emptied, and deleted unless a campaign
    names them.
    """
    now = now or timezone.now()
    consenting = consenting_customer_ids(merchant=merchant)
    categories = _categories(merchant)
    rows = [
        Bought(
            customer=str(row.customer_id),
            category=categories.get(row.sku, ""),
            channel=row.channel,
            order=row.order_key,
            quantity=row.net_quantity,
        )
        for row in Purchase.objects.filter(
            merchant=merchant, customer_id__in=consenting, occurred_at__lte=now
        )
        .only(
            "customer_id",
            "sku",
            "channel",
            "order_ref",
            "occurred_at",
            "quantity",
            "refunded_quantity",
        )
        .iterator(chunk_size=2000)
        if row.net_quantity > 0
    ]
    learned = clusters_learn(rows, k=k)
    wanted: dict[int, set[int]] = {}
    with transaction.atomic():
        for number, description in learned.describe.items():
            segment, _ = Segment.objects.update_or_create(
                merchant=merchant,
                kind=Segment.Kind.CLUSTER,
                cluster=number,
                defaults={"name": f"{CLUSTER_NAME} {number + 1}", "description": description},
            )
            wanted[segment.pk] = {
                int(customer) for customer, label in learned.labels.items() if label == number
            }
        stale = Segment.objects.filter(merchant=merchant, kind=Segment.Kind.CLUSTER).exclude(
            pk__in=list(wanted)
        )
        SegmentMember.objects.filter(segment__in=stale).delete()
        stale.filter(campaigns__isnull=True).delete()
    _members_write(merchant, wanted, now)
    return learned


def _categories(merchant: Merchant) -> dict[str, str]:
    return dict(
        Product.objects.filter(merchant=merchant)
        .exclude(category="")
        .values_list("sku", "category")
    )
