"""Campaigns on the demo data: a seeded holdout, vouchers issued through the wallet to the
others, and a report of targeted against holdout with a confidence interval."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from moneyed import Money
from rest_framework.test import APIClient

from config.actors import system_actor
from customers.models import Identifier
from insights import demo
from insights.errors import CampaignSegmentEmpty
from insights.models import Campaign, CampaignMember, Purchase, Segment
from insights.selectors import campaign_report
from insights.services.campaigns import campaign_launch
from insights.uplift import difference
from merchants.models import Merchant, Store
from wallet.models import Voucher
from wallet.services import voucher_redemption_consume, voucher_reserve

ACTOR = system_actor("test")


@pytest.fixture
def demo_campaign(merchant: Merchant, store: Store) -> Campaign:
    lines = demo.seed_demo(merchant=merchant, store=store, customers=60)
    assert "launched" in lines[0]
    return Campaign.objects.get(merchant=merchant, name=demo.CAMPAIGN)


def test_the_demo_campaign_holds_out_a_seeded_group_and_gives_the_others_a_voucher(
    demo_campaign: Campaign,
) -> None:
    members = list(CampaignMember.objects.filter(campaign=demo_campaign).order_by("pk"))
    segment_members = sorted(demo_campaign.segment.members.values_list("customer_id", flat=True))
    assert sorted(m.customer_id for m in members) == segment_members
    assert len(segment_members) >= 10
    holdout = {m.customer_id for m in members if m.holdout}
    assert len(holdout) == (len(members) * 20 + 50) // 100
    # The recorded seed redraws the same holdout.
    redrawn = list(segment_members)
    random.Random(demo_campaign.seed).shuffle(redrawn)
    assert set(redrawn[: len(holdout)]) == holdout
    for member in members:
        if member.holdout:
            assert member.voucher is None
            continue
        voucher = member.voucher
        assert voucher is not None
        assert voucher.customer_id == member.customer_id
        assert (voucher.amount, voucher.minimum_basket) == (Decimal("5"), Decimal("20"))
        assert voucher.valid_from == demo_campaign.launched_at
        assert voucher.valid_from is not None
        assert voucher.valid_until == voucher.valid_from + timedelta(days=30)
        assert voucher.issue_reference == (
            f"campaign:{demo_campaign.public_id}:{member.customer_id}"
        )
    # Launching again (the demo seeded twice) draws nobody again and issues nothing more.
    vouchers = Voucher.objects.count()
    assert campaign_launch(campaign=demo_campaign).launched_at == demo_campaign.launched_at
    assert Voucher.objects.count() == vouchers
    assert CampaignMember.objects.filter(campaign=demo_campaign).count() == len(members)


def test_the_report_compares_targeted_and_holdout_with_an_interval(
    merchant: Merchant, demo_campaign: Campaign, admin_client: Client
) -> None:
    before = campaign_report(campaign=demo_campaign)
    assert before is not None
    launched_at = demo_campaign.launched_at
    assert launched_at is not None
    assert before.targeted + before.holdout == demo_campaign.members.count()
    assert before.redeemed == 0
    targeted = list(
        demo_campaign.members.filter(holdout=False).select_related("voucher").order_by("pk")
    )
    for number, member in enumerate(targeted[:3]):
        assert member.voucher is not None
        redemption = voucher_reserve(
            voucher=member.voucher,
            customer=member.customer,
            amount=Money("5", "EUR"),
            reference=f"pay-{number}",
            channel="web",
            actor=ACTOR,
        )
        voucher_redemption_consume(redemption=redemption, actor=ACTOR)
        Purchase.objects.create(
            merchant=merchant,
            customer=member.customer,
            sku="CHE-000",
            quantity=1,
            unit_price=Decimal("500.00"),
            currency="EUR",
            occurred_at=launched_at + timedelta(days=1),
            channel="web",
            line_key=f"campaign-test-{number}",
        )
        # The same customer's spend in another currency is not added to the report's euros.
        Purchase.objects.create(
            merchant=merchant,
            customer=member.customer,
            sku="CHE-000",
            quantity=1,
            unit_price=Decimal("9000.00"),
            currency="USD",
            occurred_at=launched_at + timedelta(days=1),
            channel="web",
            line_key=f"campaign-test-usd-{number}",
        )

    report = campaign_report(campaign=demo_campaign)

    assert report is not None
    assert report.redeemed == 3
    assert report.redemption_rate == (Decimal(3) / report.targeted).quantize(Decimal("0.0001"))
    assert report.revenue.targeted - before.revenue.targeted == (
        Decimal(1500) / report.targeted
    ).quantize(Decimal("0.01"))
    assert report.revenue.holdout == before.revenue.holdout
    assert report.revenue.low is not None
    assert report.revenue.high is not None
    assert report.revenue.low <= report.revenue.difference <= report.revenue.high
    assert report.revenue.difference > before.revenue.difference
    page = admin_client.get(f"/admin/insights/campaign/{demo_campaign.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Targeted against holdout" in html
    assert f"{report.redemption_rate:.2%}" in html
    assert f"[{report.revenue.low}, {report.revenue.high}]" in html


def test_a_campaign_on_an_empty_segment_is_refused(merchant: Merchant) -> None:
    segment = Segment.objects.create(merchant=merchant, name="nobody", min_orders=1000)
    campaign = Campaign.objects.create(
        merchant=merchant, name="none", segment=segment, amount=Decimal("5")
    )
    with pytest.raises(CampaignSegmentEmpty):
        campaign_launch(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.launched_at is None


def test_the_interval_of_a_difference_of_means() -> None:
    found = difference(
        [Decimal(10), Decimal(20), Decimal(30)], [Decimal(0), Decimal(10)], places=Decimal("0.01")
    )
    # Means 20 and 5; variances 100 and 50; 1.96 * sqrt(100/3 + 50/2) = 14.97.
    assert (found.targeted, found.holdout, found.difference) == (
        Decimal("20.00"),
        Decimal("5.00"),
        Decimal("15.00"),
    )
    assert (found.low, found.high) == (Decimal("0.03"), Decimal("29.97"))
    single = difference([Decimal(1)], [Decimal(0), Decimal(2)], places=Decimal("0.01"))
    assert (single.low, single.high) == (None, None)


def test_the_demo_has_segments_and_personal_offers_that_mean_something(
    merchant: Merchant,
    store: Store,
    demo_campaign: Campaign,
    merchant_api: APIClient,
    admin_client: Client,
) -> None:
    learned = Segment.objects.filter(merchant=merchant, kind=Segment.Kind.CLUSTER)
    assert learned.count() == 4
    assert all(segment.members.count() >= 5 for segment in learned)
    customer = Identifier.objects.get(merchant=merchant, value="c00000").customer
    answer = merchant_api.get(f"/api/v1/customers/{customer.public_id}/offers").json()
    assert answer["personalised"] is True
    assert {offer["reason"] for offer in answer["offers"]} >= {"bought_before"}
    page = admin_client.get("/admin/insights/segment/").content.decode()
    assert demo.SEGMENT in page
    assert "Learned cluster 1" in page
    assert "mostly " in page
    # Seeding again (every `make run`) imports nothing twice.
    purchases = Purchase.objects.count()
    demo.seed_demo(merchant=merchant, store=store, customers=60)
    assert Purchase.objects.count() == purchases
