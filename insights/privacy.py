"""The insights app's privacy handler and its `personalisation` deleter.

- export: purchases, touchpoints, linked devices, profile (with the expected next purchase),
  segments, offers, feedback and the campaigns that drew the customer;
- erase: every row tied to the customer is deleted (the payments app keeps the payments);
- merge: facts (purchases, touchpoints, devices, feedback) move to the survivor; the derived
  profile and offers of both are dropped and recomputed by the next training;
- withdrawing `personalisation` deletes the profile and offers and turns the customer's
  touchpoints into anonymous day counts, at once (`derived_data_deleter_register`).
"""

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from customers.models import ConsentPurpose, Customer
from customers.privacy.contract import (
    CustomerDataHandler,
    ErasureContext,
    Moved,
    iter_export,
    privacy_handler_register,
    rows_repoint,
)
from customers.services import derived_data_deleter_register
from insights.models import (
    CampaignMember,
    DeviceLink,
    Feedback,
    Profile,
    Purchase,
    Recommendation,
    SegmentMember,
    Touchpoint,
)
from insights.services.events import events_count

FACTS = (
    (Purchase, "customer"),
    (Touchpoint, "customer"),
    (DeviceLink, "customer"),
    (Feedback, "customer"),
    (CampaignMember, "customer"),
)
DERIVED = ((Profile, "customer"), (Recommendation, "customer"), (SegmentMember, "customer"))


def _purchases(customer: Customer) -> Iterator[dict[str, Any]]:
    for row in Purchase.objects.filter(customer=customer).order_by("occurred_at", "pk").iterator():
        yield {
            "at": row.occurred_at.isoformat(),
            "sku": row.sku,
            "quantity": row.quantity,
            "unit_price": None if row.unit_price is None else str(row.unit_price),
            "currency": row.currency,
            "refunded_quantity": row.refunded_quantity,
            "channel": row.channel,
            "order_ref": row.order_ref,
        }


def _touchpoints(customer: Customer) -> Iterator[dict[str, Any]]:
    rows = Touchpoint.objects.filter(customer=customer).order_by("occurred_at", "pk").iterator()
    for row in rows:
        yield {
            "at": row.occurred_at.isoformat(),
            "kind": row.kind,
            "sku": row.sku,
            "detail": row.detail,
            "device_id": row.device_id,
        }


def derived_delete(customer: Customer) -> int:
    """Withdrawal of `personalisation`: drop what was derived, keep events only as counts."""
    deleted = 0
    for model, _ in DERIVED:
        deleted += model.objects.filter(customer=customer).delete()[0]
    counts: Counter[tuple[date, str]] = Counter(
        (row.occurred_at.date(), row.kind)
        for row in Touchpoint.objects.filter(customer=customer).only("occurred_at", "kind")
    )
    for (day, kind), count in sorted(counts.items()):
        events_count(merchant=customer.merchant, day=day, kind=kind, count=count)
    deleted += Touchpoint.objects.filter(customer=customer).delete()[0]
    return deleted


class InsightsHandler(CustomerDataHandler):
    app_label = "insights"
    order = 50
    references = frozenset((model._meta.label_lower, field) for model, field in (*FACTS, *DERIVED))

    def export(self, *, customer: Customer) -> Mapping[str, Any]:
        profile = Profile.objects.filter(customer=customer).first()
        return {
            "purchases": iter_export(_purchases(customer)),
            "touchpoints": iter_export(_touchpoints(customer)),
            "devices": list(
                DeviceLink.objects.filter(customer=customer).values_list("device_id", flat=True)
            ),
            "profile": None
            if profile is None
            else {
                "recency_days": profile.recency_days,
                "frequency": profile.frequency,
                "spend_by_channel": profile.spend_by_channel,
                "favourite_categories": profile.favourite_categories,
                "expected_next_at": None
                if profile.expected_next_at is None
                else profile.expected_next_at.isoformat(),
                "expected_categories": profile.expected_categories,
            },
            "segments": [
                {"name": row.segment.name, "kind": row.segment.kind, "why": row.segment.rules_text}
                for row in SegmentMember.objects.filter(customer=customer)
                .select_related("segment")
                .order_by("segment__name")
            ],
            "campaigns": [
                {
                    "campaign": row.campaign.name,
                    "launched_at": None
                    if row.campaign.launched_at is None
                    else row.campaign.launched_at.isoformat(),
                    "group": "holdout" if row.holdout else "targeted",
                    "voucher": None if row.voucher is None else str(row.voucher.public_id),
                }
                for row in CampaignMember.objects.filter(customer=customer)
                .select_related("campaign", "voucher")
                .order_by("pk")
            ],
            "offers": list(
                Recommendation.objects.filter(customer=customer)
                .order_by("-score")
                .values("sku", "reason")
            ),
            "feedback": [
                {"sku": row.sku, "kind": row.kind, "at": row.recorded_at.isoformat()}
                for row in Feedback.objects.filter(customer=customer).order_by("recorded_at")
            ],
        }

    def erase(self, *, context: ErasureContext) -> dict[str, Any]:
        deleted = {}
        for model, _ in (*DERIVED, *FACTS):
            deleted[model.__name__] = model.objects.filter(customer=context.customer).delete()[0]
        return deleted

    def merge(self, *, absorbed: Customer, survivor: Customer) -> list[Moved]:
        for derived, _ in DERIVED:
            derived.objects.filter(customer__in=[absorbed, survivor]).delete()
        moved = []
        for fact, field in FACTS:
            move = rows_repoint(fact, field, old=absorbed.pk, new=survivor.pk)
            if move is not None:
                moved.append(move)
        return moved

    def last_activity(self, *, customer: Customer) -> datetime | None:
        latest = Purchase.objects.filter(customer=customer).order_by("-occurred_at").first()
        return None if latest is None else latest.occurred_at


privacy_handler_register(InsightsHandler())
derived_data_deleter_register(
    purpose=ConsentPurpose.PERSONALISATION, name="insights", deleter=derived_delete
)
