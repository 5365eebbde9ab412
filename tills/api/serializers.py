from rest_framework import serializers

from config.api.fields import MoneyField
from config.limits import MAX_TEXT_LENGTH
from tills.models import CashMovement


class CapsOutput(serializers.Serializer):
    max_sale = serializers.DecimalField(max_digits=14, decimal_places=2)
    max_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class AllowanceOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    amount = MoneyField()
    remaining = MoneyField(allow_zero=True)
    used = MoneyField(allow_zero=True)
    created_at = serializers.DateTimeField()


class OfflinePolicyOutput(serializers.Serializer):
    methods = serializers.ListField(child=serializers.CharField())
    max_sale = serializers.DecimalField(max_digits=14, decimal_places=2)
    max_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    max_age_hours = serializers.IntegerField()
    currencies = serializers.DictField(child=CapsOutput(), help_text="Caps per currency.")
    allowances = AllowanceOutput(
        many=True, help_text="This till's active allowances: gift cards offline, within them."
    )


class AllowanceReserveInput(serializers.Serializer):
    amount = MoneyField()


class AllowanceReleaseInput(serializers.Serializer):
    currency = serializers.RegexField(r"^[A-Z]{3}$")


class SessionOpenInput(serializers.Serializer):
    float = MoneyField(allow_zero=True)


class CashMoveInput(serializers.Serializer):
    direction = serializers.ChoiceField(choices=CashMovement.Kind.choices)
    amount = MoneyField()
    reason = serializers.CharField(max_length=MAX_TEXT_LENGTH)


class SessionCloseInput(serializers.Serializer):
    counted = MoneyField(allow_zero=True)
    staff_key = serializers.CharField(
        required=False,
        default="",
        max_length=200,
        help_text="A staff key accepting a variance above the limit.",
    )
    external_card_declared = MoneyField(
        required=False,
        allow_zero=True,
        help_text="The external card terminal's total for the shift, to reconcile against.",
    )


class CashMovementOutput(serializers.Serializer):
    direction = serializers.CharField(source="kind")
    amount = MoneyField()
    reason = serializers.CharField()
    actor = serializers.CharField()
    created_at = serializers.DateTimeField()


class SessionOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    terminal = serializers.CharField(source="terminal.code")
    float = MoneyField(source="float_amount", allow_zero=True)
    opened_at = serializers.DateTimeField()
    opened_by = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField()
    counted = MoneyField(source="counted_amount", allow_zero=True, allow_null=True)
    expected = MoneyField(source="expected_amount", allow_zero=True, allow_null=True)
    variance = MoneyField(source="variance_amount", allow_zero=True, allow_null=True)
    variance_accepted_by = serializers.CharField()
    external_card_declared = MoneyField(allow_zero=True, allow_null=True)
    z_report = serializers.JSONField()
