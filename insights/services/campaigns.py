"""Campaigns: a voucher for each member of a segment but a seeded random holdout group.

Launching draws the groups once (the seed is recorded on the campaign) and issues each
targeted customer's voucher through the wallet with an issue reference, so a launch retried
after a crash finds the vouchers issued first. Everything happens in one transaction under
the campaign's row lock (the wallet makes no network call), so a launch is capped at
`limits.MAX_CAMPAIGN_MEMBERS` members. The segment must be the campaign merchant's: the
service checks it again whatever the admin form let through.
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


def _holdout_size(members: int, percent: int) -> int:
    """`percent` of the members, rounded half up, at least one when there are two or more."""
    size = (members * percent + 50) // 100
    return max(size, 1) if members >= 2 else 0


@transaction.atomic
def campaign_launch(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Draw the holdout and issue the vouchers; a launched campaign is returned as it is."""
    locked = (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("merchant", "segment")
        .get(pk=campaign.pk)
    )
    if locked.launched_at is not None:
        return locked
    if locked.segment.merchant_id != locked.merchant_id:
        raise CampaignSegmentForeign(field="segment")
    now = now or timezone.now()
    members = list(
        SegmentMember.objects.filter(segment_id=locked.segment_id)
        .order_by("customer_id")
        .select_related("customer")
    )
    if not members:
        raise CampaignSegmentEmpty(field="segment")
    if len(members) > limits.MAX_CAMPAIGN_MEMBERS:
        raise CampaignTooLarge(
            f"The segment has {len(members)} members; one launch issues at most "
            f"{limits.MAX_CAMPAIGN_MEMBERS} vouchers: narrow the segment.",
            field="segment",
        )
    drawn = [member.customer for member in members]
    random.Random(locked.seed).shuffle(drawn)  # noqa: S311  (a recorded, reproducible draw)
    holdout = _holdout_size(len(drawn), locked.holdout_percent)
    rows = [CampaignMember(campaign=locked, customer=c, holdout=True) for c in drawn[:holdout]]
    for customer in drawn[holdout:]:
        issued = voucher_issue(
            merchant=locked.merchant,
            currency=locked.currency,
            amount=None if locked.amount is None else Money(locked.amount, locked.currency),
            percent=locked.percent,
            minimum_basket=(
                Money(locked.minimum_basket, locked.currency) if locked.minimum_basket else None
            ),  # the wallet takes no minimum as None; a zero amount it refuses
            valid_from=now,
            valid_until=now + timedelta(days=locked.valid_days),
            channels=list(locked.channels) or None,
            max_uses_total=1,
            customer=customer,
            reference=f"campaign:{locked.public_id}:{customer.pk}",
        )
        rows.append(
            CampaignMember(
                campaign=locked, customer=customer, holdout=False, voucher=issued.voucher
            )
        )
    CampaignMember.objects.bulk_create(rows)
    locked.launched_at = now
    locked.save(update_fields=["launched_at"])
    return locked
