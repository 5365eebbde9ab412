from rest_framework import serializers

from config.api.fields import MoneyField
from payments.models import Tender
from reconciliation.models import Settlement


class SettlementFilter(serializers.Serializer):
    store = serializers.CharField(
        required=False, max_length=40, help_text="A store code; 404 when the merchant has none."
    )
    till = serializers.CharField(required=False, max_length=40, help_text="A till code.")
    channel = serializers.ChoiceField(
        choices=[("pos", "pos"), ("web", "web")],
        required=False,
        help_text="pos: the stores' tills; web: the web shop's rows (no store, no till).",
    )
    method = serializers.ChoiceField(
        choices=Tender.Method.choices,
        required=False,
        help_text="Only days with this tender method, and only its lines.",
    )
    # `from` is a Python keyword: the field is declared below under its query name.
    to = serializers.DateField(required=False, help_text="Last business day, inclusive.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False, help_text="First business day, inclusive."
        )
        return fields


class LineOutput(serializers.Serializer):
    method = serializers.ChoiceField(choices=Tender.Method.choices)
    kind = serializers.CharField(help_text="`day`, or `adjustment` of a reconciled day.")
    adjusts = serializers.UUIDField(
        source="adjusts.public_id",
        allow_null=True,
        default=None,
        help_text="The reconciled settlement an adjustment line corrects.",
    )
    sales = MoneyField(allow_zero=True)
    refunds = MoneyField(allow_zero=True)
    net = MoneyField(allow_zero=True)
    sales_count = serializers.IntegerField()
    refunds_count = serializers.IntegerField()


class DifferenceOutput(serializers.Serializer):
    code = serializers.CharField()
    amount = serializers.CharField(help_text="A decimal string, empty when not an amount.")
    detail = serializers.CharField()


class CashOutput(serializers.Serializer):
    sessions = serializers.IntegerField(source="sessions_count")
    sessions_open = serializers.IntegerField()
    expected = MoneyField(source="cash_expected", allow_zero=True, allow_null=True)
    counted = MoneyField(source="cash_counted", allow_zero=True, allow_null=True)
    variance = MoneyField(source="cash_variance", allow_zero=True, allow_null=True)


class ExternalCardOutput(serializers.Serializer):
    declared = MoneyField(source="external_declared", allow_zero=True, allow_null=True)
    recorded = MoneyField(source="external_recorded", allow_zero=True, allow_null=True)


class OfflineOutput(serializers.Serializer):
    count = serializers.IntegerField(source="offline_count")
    late_count = serializers.IntegerField(source="offline_late_count")
    total = MoneyField(source="offline_total", allow_zero=True, allow_null=True)
    shortfalls = serializers.IntegerField(source="shortfalls_count")
    shortfalls_open = MoneyField(allow_zero=True, allow_null=True)


class UnmatchedOutput(serializers.Serializer):
    kassa = serializers.ListField(child=serializers.UUIDField(), default=list)
    stripe = serializers.ListField(child=serializers.CharField(), default=list)


class CardOutput(serializers.Serializer):
    gross = MoneyField(source="card_gross", allow_zero=True, allow_null=True)
    fee = MoneyField(source="card_fee", allow_zero=True, allow_null=True)
    net = MoneyField(source="card_net", allow_zero=True, allow_null=True)
    payouts = serializers.ListField(child=serializers.CharField())
    unmatched = UnmatchedOutput(source="stripe_unmatched")


class SettlementOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    store = serializers.CharField(source="store.code", allow_null=True, default=None)
    till = serializers.CharField(source="terminal.code", allow_null=True, default=None)
    business_day = serializers.DateField()
    timezone = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Settlement.Status.choices)
    computed_at = serializers.DateTimeField()
    lines = LineOutput(many=True, source="filtered_lines")
    cash = CashOutput(source="*")
    external_card = ExternalCardOutput(source="*")
    offline = OfflineOutput(source="*")
    card = CardOutput(source="*")
    differences = DifferenceOutput(many=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField()
    reconciled_at = serializers.DateTimeField(allow_null=True)
    accepted_by = serializers.CharField()
    reason = serializers.CharField()
