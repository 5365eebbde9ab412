"""Who may run the back office's actions, and what a campaign launch refuses."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.test import Client

from config import limits
from customers.models import Customer
from insights.errors import CampaignSegmentForeign, CampaignTooLarge
from insights.models import Campaign, CampaignMember, Segment, SegmentMember
from insights.selectors import campaign_vouchers_pending
from insights.services.campaigns import campaign_draw, campaign_launch, campaign_vouchers_issue
from insights.tasks import campaign_issue_task
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
    campaign: Campaign, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    _run(_staff("view_campaign", "change_campaign"), "campaign", "launch", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.launched_at is None
    User.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True) as queued:
        _run(_staff("view_campaign", "launch_campaign"), "campaign", "launch", campaign.pk)
    assert len(queued) == 1  # the vouchers are the task's
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


def test_vouchers_are_issued_in_batches_and_a_retried_launch_resumes(
    campaign: Campaign, make_customer: Callable[..., Customer]
) -> None:
    for number in range(3, 7):
        SegmentMember.objects.create(segment=campaign.segment, customer=make_customer(f"g{number}"))
    drawn = campaign_draw(campaign=campaign)
    targeted = list(drawn.members.filter(holdout=False).order_by("pk"))
    assert len(targeted) == 6  # 7 members, 1 held out
    assert campaign_vouchers_pending(campaign=drawn) == 6
    assert campaign_draw(campaign=campaign).launched_at == drawn.launched_at  # drawn once

    assert campaign_vouchers_issue(campaign=drawn, batch=4) == 6  # a batch of 4, then 2
    # A crash after the wallet issued a voucher but before its member row recorded it: the
    # issue reference makes the retry find that voucher, not issue a second one.
    crashed = targeted[0]
    crashed.refresh_from_db()
    voucher = crashed.voucher
    assert voucher is not None
    CampaignMember.objects.filter(pk=crashed.pk).update(voucher=None)
    assert campaign_vouchers_pending(campaign=drawn) == 1

    assert campaign_issue_task.delay(drawn.pk).get() == 1
    crashed.refresh_from_db()
    assert crashed.voucher == voucher
    assert Voucher.objects.count() == 6
    assert campaign_vouchers_pending(campaign=drawn) == 0
    for member in drawn.members.filter(holdout=False).select_related("voucher"):
        assert member.voucher is not None
        assert member.voucher.customer_id == member.customer_id
        assert member.voucher.valid_from == drawn.launched_at
        assert member.voucher.issue_reference == f"campaign:{drawn.public_id}:{member.customer_id}"
    assert campaign_vouchers_issue(campaign=drawn) == 0


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
