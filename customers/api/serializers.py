from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import Channel, ConsentEvent, ConsentPurpose, CustomerMerge, Identifier
from customers.services import IdentifierStatus, Outcome


@extend_schema_field(serializers.ChoiceField(choices=Identifier.Kind.choices))
class IdentifierKindField(serializers.CharField):
    """A kind name; unknown kinds are reported by the service with the identifier's value errors."""


class IdentifierInput(serializers.Serializer):
    kind = IdentifierKindField(max_length=32)
    # Blank and malformed values get their kind's own error code from the normaliser.
    value = serializers.CharField(max_length=400, allow_blank=True)
    verified = serializers.BooleanField(
        default=False, help_text="The touchpoint proved just now that the customer controls it."
    )


class IdentifyInput(serializers.Serializer):
    identifiers = serializers.ListField(child=IdentifierInput(), max_length=20)
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text="Defaults to pos for till keys, web for shop keys, back_office for staff keys.",
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        # `create` would shadow Serializer.create as a class attribute, so it is added here.
        fields = super().get_fields()
        fields["create"] = serializers.BooleanField(
            default=True, help_text="false: a pure look-up that answers `unknown`, never creates."
        )
        return fields


class IdentifiedIdentifierOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Identifier.Kind.choices)
    value = serializers.CharField(help_text="Normalised.")
    verified = serializers.BooleanField()
    status = serializers.ChoiceField(choices=[status.value for status in IdentifierStatus])


class IdentifyOutput(serializers.Serializer):
    customer = serializers.UUIDField(source="customer.public_id", allow_null=True, default=None)
    outcome = serializers.ChoiceField(choices=[outcome.value for outcome in Outcome])
    conflict = serializers.SerializerMethodField()
    identifiers = IdentifiedIdentifierOutput(many=True)

    def get_conflict(self, identification: Any) -> bool:
        return identification.conflict is not None


class IdentifierOutput(serializers.ModelSerializer[Identifier]):
    source_channel = serializers.CharField(help_text="The channel that first presented it.")

    class Meta:
        model = Identifier
        fields = ("kind", "value", "verified", "source_channel", "first_seen_at", "last_seen_at")


class ConsentOutput(serializers.Serializer):
    """The current state of one purpose; never recorded means not given."""

    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    channel = serializers.CharField(allow_null=True)
    evidence = serializers.CharField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)

    @staticmethod
    def rows(current: dict[str, ConsentEvent | None]) -> list[dict[str, Any]]:
        return [
            {
                "purpose": purpose,
                "granted": event is not None and event.granted,
                "channel": event.channel if event else None,
                "evidence": event.evidence if event else None,
                "recorded_at": event.recorded_at if event else None,
            }
            for purpose, event in current.items()
        ]


class CustomerProfileOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    identifiers = IdentifierOutput(many=True)
    consents = ConsentOutput(many=True)


class ConsentEventInput(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    evidence = serializers.CharField(
        max_length=2000, help_text="What the customer saw and did, e.g. 'checkout form v3, box 2'."
    )


class ConsentEventOutput(serializers.ModelSerializer[ConsentEvent]):
    class Meta:
        model = ConsentEvent
        fields = ("purpose", "granted", "channel", "evidence", "recorded_at")


class MergeInput(serializers.Serializer):
    survivor = serializers.UUIDField(help_text="The customer that keeps everything.")
    absorbed = serializers.UUIDField(help_text="The customer that becomes a tombstone.")
    reason = serializers.CharField(max_length=2000)


class UnmergeInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class MovedOutput(serializers.Serializer):
    model = serializers.CharField()
    field = serializers.CharField()
    count = serializers.IntegerField()


class CustomerMergeOutput(serializers.ModelSerializer[CustomerMerge]):
    id = serializers.UUIDField(source="public_id")
    survivor = serializers.UUIDField(source="survivor.public_id")
    absorbed = serializers.UUIDField(source="absorbed.public_id")
    moved = serializers.SerializerMethodField()

    class Meta:
        model = CustomerMerge
        fields = (
            "id",
            "survivor",
            "absorbed",
            "source",
            "reason",
            "actor",
            "created_at",
            "moved",
            "unmerged_at",
            "unmerged_by",
            "unmerge_reason",
        )

    @extend_schema_field(MovedOutput(many=True))
    def get_moved(self, merge: CustomerMerge) -> list[dict[str, Any]]:
        return [
            {"model": move["model"], "field": move["field"], "count": len(move["pks"])}
            for move in merge.moved
        ]
