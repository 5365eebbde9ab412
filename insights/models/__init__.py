"""Customer knowledge: products, purchases (facts), touchpoints, derived profiles and offers.

Purchases and feedback are what happened; profiles and recommendations are derived under the
`personalisation` consent and deleted when it is withdrawn.

One module per area; every model is re-exported here, so `from insights.models import X` works
and Django finds the models when it imports the app's `models`. `_campaign_seed` is re-exported
because migrations name it as `insights.models._campaign_seed`.
"""

from insights.models.campaigns import LAUNCH_PERMISSION, Campaign, CampaignMember, _campaign_seed
from insights.models.derived import Popular, Profile, Recommendation
from insights.models.facts import (
    DeviceLink,
    EventCount,
    EventKind,
    Feedback,
    Product,
    Purchase,
    Touchpoint,
    Watermark,
)
from insights.models.segments import CLUSTER_NAME, RULE_WINDOW_MAX_DAYS, Segment, SegmentMember

__all__ = [
    "CLUSTER_NAME",
    "LAUNCH_PERMISSION",
    "RULE_WINDOW_MAX_DAYS",
    "Campaign",
    "CampaignMember",
    "DeviceLink",
    "EventCount",
    "EventKind",
    "Feedback",
    "Popular",
    "Product",
    "Profile",
    "Purchase",
    "Recommendation",
    "Segment",
    "SegmentMember",
    "Touchpoint",
    "Watermark",
    "_campaign_seed",
]
