from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.limits import MAX_IDENTIFIERS_PER_REQUEST, MAX_TEXT_LENGTH
from customers.models import (
    Channel,
    ConsentEvent,
    ConsentPurpose,
    CustomerMerge,
    Identifier,
    Strength,
)
from customers.presentation import CODE_KINDS
from customers.services import IdentifierStatus, Outcome

STRENGTHS = [strength.label for strength in Strength]


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
    presentation = serializers.ChoiceField(
        choices=["typed", "scanned"],
        default="typed",
        help_text="scanned: the physical loyalty card was read by the scanner (loyalty_card only).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["scanned"] = attrs.pop("presentation") == "scanned"
        return attrs


class IdentifierList(serializers.ListField):
    """At most MAX_IDENTIFIERS_PER_REQUEST identifiers, counted before any is validated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=IdentifierInput(), **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, list) and len(data) > MAX_IDENTIFIERS_PER_REQUEST:
            raise serializers.ValidationError(
                f"At most {MAX_IDENTIFIERS_PER_REQUEST} identifiers per request.",
                code="too_many_identifiers",
            )
        return super().to_internal_value(data)


class IdentifyInput(serializers.Serializer):
    identifiers = IdentifierList()
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
    strength = serializers.SerializerMethodField(
        help_text="What this till may now do with the customer (null for shop and staff keys)."
    )

    def get_conflict(self, identification: Any) -> bool:
        return identification.conflict is not None

    @extend_schema_field(serializers.ChoiceField(choices=STRENGTHS, allow_null=True))
    def get_strength(self, identification: Any) -> str | None:
        strength = identification.strength
        return None if strength is None else Strength(strength).label


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


class MaskedIdentifierOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Identifier.Kind.choices)
    value = serializers.CharField(help_text="Masked, e.g. a***@example.com.")
    verified = serializers.BooleanField()


class MinimalProfileOutput(serializers.Serializer):
    """What a till that identified the customer only weakly (a typed identifier) may see."""

    profile = serializers.ChoiceField(choices=["minimal"])
    public_id = serializers.UUIDField()
    first_name = serializers.CharField()
    identifiers = MaskedIdentifierOutput(many=True)


class CustomerProfileOutput(serializers.Serializer):
    profile = serializers.ChoiceField(choices=["full"])
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
        max_length=MAX_TEXT_LENGTH,
        help_text="What the customer saw and did, e.g. 'checkout form v3, box 2'.",
    )


class ConsentEventOutput(serializers.ModelSerializer[ConsentEvent]):
    class Meta:
        model = ConsentEvent
        fields = ("purpose", "granted", "channel", "evidence", "recorded_at")


class MergeInput(serializers.Serializer):
    survivor = serializers.UUIDField(help_text="The customer that keeps everything.")
    absorbed = serializers.UUIDField(help_text="The customer that becomes a tombstone.")
    reason = serializers.CharField(max_length=MAX_TEXT_LENGTH)


class UnmergeInput(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_TEXT_LENGTH)


class PresentationCodeInput(serializers.Serializer):
    via = serializers.ChoiceField(
        choices=CODE_KINDS, help_text="Send to the customer's verified email or phone."
    )


class PresentationCodeOutput(serializers.Serializer):
    via = serializers.ChoiceField(choices=CODE_KINDS)
    sent_to = serializers.CharField(help_text="Masked, for the customer to recognise.")
    expires_at = serializers.DateTimeField()


class PresentationCodeVerifyInput(serializers.Serializer):
    code = serializers.RegexField(r"^[0-9]{6}$", help_text="The six digits the customer reads out.")


class AccessOutput(serializers.Serializer):
    customer = serializers.UUIDField(source="customer.public_id")
    strength = serializers.ChoiceField(choices=STRENGTHS)
    strong_until = serializers.DateTimeField(source="wallet_strong_until")
    expires_at = serializers.DateTimeField()


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
