from typing import Any

from rest_framework import serializers

from config import limits
from customers.api.serializers import IdentifierList
from insights.errors import EventsBatchTooLarge
from insights.models import EventKind, Feedback
from insights.selectors import CENTS, Offer


class EventInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    occurred_at = serializers.DateTimeField()
    customer = serializers.UUIDField(required=False)
    identifiers = IdentifierList(required=False)
    device_id = serializers.CharField(max_length=100, required=False, default="")
    sku = serializers.CharField(max_length=64, required=False, default="")
    detail = serializers.CharField(
        max_length=200, required=False, default="", help_text="A search's terms, a store code."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("customer") or attrs.get("identifiers") or attrs.get("device_id")):
            raise serializers.ValidationError(
                "Name a customer, identifiers or a device id.", code="required"
            )
        return attrs


class EventList(serializers.ListField):
    """At most MAX_EVENTS_PER_BATCH events, counted before any is validated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=EventInput(), allow_empty=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, list) and len(data) > limits.MAX_EVENTS_PER_BATCH:
            raise EventsBatchTooLarge(
                f"At most {limits.MAX_EVENTS_PER_BATCH} events, not {len(data)}.",
                field="events",
                meta={"maximum": limits.MAX_EVENTS_PER_BATCH},
            )
        return super().to_internal_value(data)


class EventsInput(serializers.Serializer):
    events = EventList()


class EventsOutput(serializers.Serializer):
    stored = serializers.IntegerField(help_text="Tied to a consenting customer.")
    counted = serializers.IntegerField(help_text="Kept only as a day count (no consent).")
    anonymous = serializers.IntegerField(help_text="Of nobody known (a device at most).")
    stitched = serializers.IntegerField(help_text="Earlier device events moved to the customer.")


class OffersQuery(serializers.Serializer):
    channel = serializers.CharField(max_length=16, required=False, default="")
    limit = serializers.IntegerField(min_value=1, max_value=limits.MAX_PAGE_SIZE, default=10)


class OfferOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    reason = serializers.CharField(
        help_text="bought_before, similar_customers or popular: why it was chosen."
    )
    score = serializers.FloatField()


class OffersOutput(serializers.Serializer):
    """The schema of the offers answer; `offers_output` builds it."""

    personalised = serializers.BooleanField()
    offers = OfferOutput(many=True)


def offers_output(*, personalised: bool, offers: list[Offer]) -> dict[str, Any]:
    """What `OffersOutput` renders, built directly: on this hot read (issue 16) the nested
    serializer cost more than the query. A test holds the two to the same answer."""
    return {
        "personalised": personalised,
        "offers": [
            {
                "sku": offer.sku,
                "name": offer.name,
                "category": offer.category,
                "price": None if offer.price is None else f"{offer.price.quantize(CENTS):f}",
                "currency": offer.currency,
                "reason": offer.reason,
                "score": offer.score,
            }
            for offer in offers
        ],
    }


class FeedbackInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Feedback.Kind.choices)


class FeedbackOutput(serializers.Serializer):
    sku = serializers.CharField()
    kind = serializers.CharField()
    recorded_at = serializers.DateTimeField()
