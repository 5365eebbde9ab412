"""Demo history for `make run`: a year of synthetic purchases (insights/synthetic.py) ending
today, most customers consenting, offers trained, clusters learned, a rule segment written as
the back office would, and a campaign on it launched three weeks ago with its holdout.

Seeded once: when the merchant already has purchases, nothing is imported again (the dates
move with the day, so a re-import would not be a duplicate).
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from customers.models import Channel, ConsentPurpose, Identifier
from customers.services import consent_record
from insights.models import Campaign, Purchase, Segment
from insights.services import history_import, offers_train, segments_evaluate, segments_learn
from insights.services.campaigns import campaign_launch
from insights.synthetic import COLUMNS, history
from merchants.models import Merchant, Store

CUSTOMERS = 200
SEED = 11
# Every tenth customer keeps `personalisation` refused: popular offers, in no segment.
REFUSING_EVERY = 10
SEGMENT = "Web and store, 90 days, over 75"
CAMPAIGN = "Come back: 5 EUR off"
CAMPAIGN_AGE = timedelta(days=21)


def _history_csv(*, customers: int, seed: int) -> io.StringIO:
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(history(customers=customers, seed=seed, start=start - timedelta(days=365)))
    text.seek(0)
    return text


def seed_demo(
    *, merchant: Merchant, store: Store, customers: int = CUSTOMERS, seed: int = SEED
) -> list[str]:
    now = timezone.now()
    if not Purchase.objects.filter(merchant=merchant).exists():
        history_import(merchant=merchant, lines=_history_csv(customers=customers, seed=seed))
        imported = Identifier.objects.filter(
            merchant=merchant, kind=Identifier.Kind.POS_CUSTOMER, value__startswith="c"
        ).order_by("value")
        for number, identifier in enumerate(imported):
            consent_record(
                customer=identifier.customer,
                purpose=ConsentPurpose.PERSONALISATION,
                granted=number % REFUSING_EVERY != REFUSING_EVERY - 1,
                channel=Channel.POS,
                evidence="demo data",
            )
    served = offers_train(merchant=merchant, now=now)
    learned = segments_learn(merchant=merchant, now=now)
    segment, _ = Segment.objects.get_or_create(
        merchant=merchant,
        name=SEGMENT,
        defaults={
            "channels": ["web", "pos"],
            "within_days": 90,
            "min_spend": Decimal("75"),
        },
    )
    members = segments_evaluate(merchant=merchant, now=now)[segment.pk]
    campaign, _ = Campaign.objects.get_or_create(
        merchant=merchant,
        name=CAMPAIGN,
        defaults={
            "segment": segment,
            "amount": Decimal("5"),
            "minimum_basket": Decimal("20"),
            "valid_days": 30,
            "holdout_percent": 20,
            "seed": seed,
        },
    )
    if members:
        campaign = campaign_launch(campaign=campaign, now=now - CAMPAIGN_AGE)
    example = Identifier.objects.filter(merchant=merchant, value="c00000").first()
    launched = (
        "not launched"
        if campaign.launched_at is None
        else (f"launched {campaign.launched_at:%Y-%m-%d}")
    )
    lines = [
        f"Insights: offers for {served} consenting customers, {len(learned.describe)} learned"
        f" segments, rule segment {SEGMENT!r} with {members} members, campaign {CAMPAIGN!r}"
        f" {launched} (report in /admin/insights/campaign/)."
    ]
    if example is not None:
        lines.append(
            f"  offers of customer C00000: GET /api/v1/customers/{example.customer.public_id}"
            "/offers?channel=web"
        )
    return lines
