"""Campaigns: a voucher for each member of a segment but a seeded random holdout group.

Launching is two steps so a segment of any size fits. `campaign_draw` (one short transaction
under the campaign's row lock) checks the campaign, draws the groups once with the recorded
seed and records every member, voucher still empty, and the launch time the vouchers count
from. `campaign_vouchers_issue` then issues the targeted members' vouchers through the wallet
in batches of `ISSUE_BATCH`, each batch its own transaction under the same lock; every voucher
carries the issue reference `campaign:<public id>:<customer>`, so a batch retried after a
crash finds the vouchers issued first, and a retried run resumes at the first member without
one. The admin draws in the request and leaves the issuing to the `insights.campaign_issue`
task. The segment must be the campaign merchant's: checked here whatever the admin let through.
"""

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from config import limits
from insights.errors import CampaignSegmentEmpty, CampaignSegmentForeign, CampaignTooLarge
from insights.models import Campaign, CampaignMember, SegmentMember
from wallet.services import voucher_issue

ISSUE_BATCH = 200


def _holdout_size(members: int, percent: int) -> int:
    """`percent` of the members, rounded half up, at least one when there are two or more."""
    size = (members * percent + 50) // 100
    return max(size, 1) if members >= 2 else 0


def _locked(campaign: Campaign) -> Campaign:
    return (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("merchant", "segment")
        .get(pk=campaign.pk)
    )


@transaction.atomic
def campaign_draw(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Draw the holdout and record every member; a drawn campaign is returned as it is."""
    locked = _locked(campaign)
    if locked.launched_at is not None:
        return locked
    if locked.segment.merchant_id != locked.merchant_id:
        raise CampaignSegmentForeign(field="segment")
    members = list(
        SegmentMember.objects.filter(segment_id=locked.segment_id)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )
    if not members:
        raise CampaignSegmentEmpty(field="segment")
    if len(members) > limits.MAX_CAMPAIGN_MEMBERS:
        raise CampaignTooLarge(
            f"The segment has {len(members)} members; one campaign draws at most "
            f"{limits.MAX_CAMPAIGN_MEMBERS}: narrow the segment.",
            field="segment",
        )
    random.Random(locked.seed).shuffle(members)  # noqa: S311  (a recorded, reproducible draw)
    holdout = _holdout_size(len(members), locked.holdout_percent)
    CampaignMember.objects.bulk_create(
        [
            CampaignMember(campaign=locked, customer_id=customer, holdout=number < holdout)
            for number, customer in enumerate(members)
        ],
        batch_size=1000,
    )
    locked.launched_at = now or timezone.now()
    locked.save(update_fields=["launched_at"])
    return locked


def _issue_batch(campaign: Campaign, size: int) -> int:
    """Issue the vouchers of the next `size` targeted members without one; vouchers issued."""
    with transaction.atomic():
        locked = _locked(campaign)
        launched_at = locked.launched_at
        if launched_at is None:
            return 0
        pending = list(
            CampaignMember.objects.filter(campaign=locked, holdout=False, voucher__isnull=True)
            .select_related("customer")
            .order_by("pk")[:size]
        )
        for member in pending:
            member.voucher = voucher_issue(
                merchant=locked.merchant,
                currency=locked.currency,
                amount=None if locked.amount is None else Money(locked.amount, locked.currency),
                percent=locked.percent,
                minimum_basket=(
                    Money(locked.minimum_basket, locked.currency) if locked.minimum_basket else None
                ),  # the wallet takes no minimum as None; a zero amount it refuses
                valid_from=launched_at,
                valid_until=launched_at + timedelta(days=locked.valid_days),
                channels=list(locked.channels) or None,
                max_uses_total=1,
                customer=member.customer,
                reference=f"campaign:{locked.public_id}:{member.customer_id}",
            ).voucher
        CampaignMember.objects.bulk_update(pending, ["voucher"])
    return len(pending)


def campaign_vouchers_issue(*, campaign: Campaign, batch: int | None = None) -> int:
    """Issue every drawn targeted member's voucher, batch by batch; vouchers issued now."""
    size = batch or ISSUE_BATCH
    issued = 0
    while written := _issue_batch(campaign, size):
        issued += written
        if written < size:
            break
    return issued


def campaign_launch(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Draw, then issue every voucher in this process (the demo, a shell); not one transaction:
    a launch interrupted midway is finished by calling it again."""
    drawn = campaign_draw(campaign=campaign, now=now)
    campaign_vouchers_issue(campaign=drawn)
    return drawn
