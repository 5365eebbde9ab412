"""Who may run the back office's actions, and what a campaign launch refuses."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.test import Client

from config import limits
from customers.models import Customer
from insights.errors import CampaignSegmentForeign, CampaignTooLarge
from insights.models import Campaign, CampaignMember, Segment, SegmentMember
from insights.services.campaigns import campaign_launch
from merchants.models import Merchant
from wallet.models import Voucher


def _staff(*codenames: str) -> Client:
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="insights", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def campaign(merchant: Merchant, make_customer: Callable[..., Customer]) -> Campaign:
    segment = Segment.objects.create(merchant=merchant, name="everyone", min_orders=1)
    for number in range(3):
        SegmentMember.objects.create(segment=segment, customer=make_customer(f"g{number}"))
    return Campaign.objects.create(
        merchant=merchant, name="five off", segment=segment, amount=Decimal("5")
    )


def _run(client: Client, model: str, action: str, pk: int) -> None:
    client.post(
        f"/admin/insights/{model}/",
        {"action": action, "_selected_action": [str(pk)], "index": "0"},
    )


def test_a_view_only_staff_user_cannot_launch_evaluate_or_learn(campaign: Campaign) -> None:
    viewer = _staff("view_campaign", "view_segment")
    page = viewer.get("/admin/insights/campaign/")
    assert page.status_code == 200
    assert b'value="launch"' not in page.content
    assert b'value="evaluate"' not in viewer.get("/admin/insights/segment/").content

    _run(viewer, "campaign", "launch", campaign.pk)
    evaluated_at = campaign.segment.evaluated_at
    _run(viewer, "segment", "evaluate", campaign.segment_id)
    _run(viewer, "segment", "learn", campaign.segment_id)

    campaign.refresh_from_db()
    assert campaign.launched_at is None
    assert not Voucher.objects.exists()
    campaign.segment.refresh_from_db()
    assert campaign.segment.evaluated_at == evaluated_at is None


def test_changing_a_campaign_is_not_enough_to_launch_it_but_the_permission_is(
    campaign: Campaign,
) -> None:
    _run(_staff("view_campaign", "change_campaign"), "campaign", "launch", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.launched_at is None
    User.objects.all().delete()

    _run(_staff("view_campaign", "launch_campaign"), "campaign", "launch", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.launched_at is not None
    assert Voucher.objects.count() == CampaignMember.objects.filter(holdout=False).count() == 2


def test_segment_actions_need_the_change_permission(campaign: Campaign) -> None:
    _run(_staff("view_segment", "change_segment"), "segment", "evaluate", campaign.segment_id)
    campaign.segment.refresh_from_db()
    assert campaign.segment.evaluated_at is not None


def test_a_campaign_cannot_target_another_merchants_segment(campaign: Campaign) -> None:
    other = Merchant.objects.create(name="Other shop")
    foreign = Campaign(merchant=other, name="poach", segment=campaign.segment, amount=Decimal(1))
    with pytest.raises(ValidationError) as refused:
        foreign.full_clean()
    assert "segment" in refused.value.message_dict
    foreign.save()  # as a careless caller could: the service checks again

    with pytest.raises(CampaignSegmentForeign):
        campaign_launch(campaign=foreign)

    foreign.refresh_from_db()
    assert foreign.launched_at is None
    assert not Voucher.objects.exists()


def test_the_change_form_offers_only_the_merchants_segments(
    campaign: Campaign, admin_client: Client
) -> None:
    other = Merchant.objects.create(name="Other shop")
    Segment.objects.create(merchant=other, name="their best customers", min_orders=2)
    page = admin_client.get(f"/admin/insights/campaign/{campaign.pk}/change/").content.decode()
    assert "everyone" in page
    assert "their best customers" not in page


def test_a_launch_past_the_cap_is_refused_whole(
    campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_CAMPAIGN_MEMBERS", 2)
    with pytest.raises(CampaignTooLarge) as refused:
        campaign_launch(campaign=campaign)
    assert "3 members" in refused.value.detail
    campaign.refresh_from_db()
    assert campaign.launched_at is None
    assert not Voucher.objects.exists()
    assert not CampaignMember.objects.exists()
