from rest_framework import serializers

from config.limits import MAX_TEXT_LENGTH
from customers.models import ConsentEvent, CustomerErasure


class ErasureInput(serializers.Serializer):
    reason = serializers.CharField(
        max_length=MAX_TEXT_LENGTH,
        help_text="Why (e.g. the request's ticket number). Do not name the person.",
    )
    stored_value = serializers.ChoiceField(
        choices=["forfeit", "keep"],
        required=False,
        help_text="Required when the customer still holds gift card balance or points: "
        "forfeit moves it to breakage, keep leaves it on the pseudonymous instruments.",
    )


class ErasureOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    customer = serializers.UUIDField(source="customer.public_id")
    status = serializers.ChoiceField(choices=CustomerErasure.Status.choices)
    stored_value = serializers.ChoiceField(choices=CustomerErasure.StoredValue.choices)
    requested_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.JSONField()


class ConsentHistoryEventOutput(serializers.ModelSerializer[ConsentEvent]):
    class Meta:
        model = ConsentEvent
        fields = ("purpose", "granted", "channel", "evidence", "recorded_at")


class ConsentHistoryOutput(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ConsentHistoryEventOutput(many=True)
