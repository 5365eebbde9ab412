"""The insights handler: export, merge and erasure cover every row tied to a customer."""

from collections.abc import Callable
from datetime import UTC, datetime

from customers.models import Customer
from customers.privacy.contract import ErasureContext
from insights.models import (
    Campaign,
    CampaignMember,
    DeviceLink,
    Feedback,
    Profile,
    Purchase,
    Recommendation,
    Segment,
    SegmentMember,
    Touchpoint,
)
from insights.privacy import InsightsHandler
from merchants.models import Merchant

AT = datetime(2025, 5, 1, tzinfo=UTC)


def holdings(merchant: Merchant, customer: Customer, sku: str) -> None:
    Purchase.objects.create(
        merchant=merchant, customer=customer, sku=sku, quantity=1, occurred_at=AT, line_key=sku
    )
    Touchpoint.objects.create(merchant=merchant, customer=customer, kind="search", occurred_at=AT)
    DeviceLink.objects.create(merchant=merchant, customer=customer, device_id=f"dev-{sku}")
    Feedback.objects.create(customer=customer, sku=sku, kind=Feedback.Kind.CLICKED)
    Profile.objects.create(customer=customer, frequency=1)
    Recommendation.objects.create(customer=customer, sku=sku, score=1.0, reason="popular")
    segment, _ = Segment.objects.get_or_create(merchant=merchant, name="regulars")
    SegmentMember.objects.create(segment=segment, customer=customer)
    campaign, _ = Campaign.objects.get_or_create(
        merchant=merchant, name="spring", segment=segment, defaults={"amount": 5}
    )
    CampaignMember.objects.create(campaign=campaign, customer=customer, holdout=sku == "BREAD")


def test_export_merge_and_erase(merchant: Merchant, make_customer: Callable[..., Customer]) -> None:
    ann, bob = make_customer("ann"), make_customer("bob")
    holdings(merchant, ann, "MILK")
    holdings(merchant, bob, "BREAD")
    handler = InsightsHandler()

    exported = handler.export(customer=ann)
    assert [row["sku"] for row in exported["purchases"]] == ["MILK"]
    assert len(list(exported["touchpoints"])) == 1
    assert exported["devices"] == ["dev-MILK"]
    assert exported["profile"]["frequency"] == 1
    assert [row["name"] for row in exported["segments"]] == ["regulars"]
    assert [(c["campaign"], c["group"]) for c in exported["campaigns"]] == [("spring", "targeted")]

    moved = handler.merge(absorbed=bob, survivor=ann)
    assert {move.model for move in moved} == {
        "insights.purchase",
        "insights.touchpoint",
        "insights.devicelink",
        "insights.feedback",
        "insights.campaignmember",
    }
    assert Purchase.objects.filter(customer=ann).count() == 2
    assert not Profile.objects.exists()
    assert not Recommendation.objects.exists()
    assert not SegmentMember.objects.exists()  # derived: the next evaluation draws them again
    # Facts: both draws (targeted and holdout) stay, now the survivor's.
    assert sorted(
        CampaignMember.objects.filter(customer=ann).values_list("holdout", flat=True)
    ) == [
        False,
        True,
    ]

    summary = handler.erase(context=ErasureContext(customer=ann, stored_value=None, actor="t"))
    assert summary["Purchase"] == 2
    assert summary["CampaignMember"] == 2
    for model in (Purchase, Touchpoint, DeviceLink, Feedback, CampaignMember):
        assert not model.objects.exists()
