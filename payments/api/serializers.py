from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from moneyed import Money
from rest_framework import serializers

from config.api.errors import ErrorCode
from config.api.fields import MoneyField, PointsField, QuantityField
from config.limits import (
    MAX_BASKET_LINES,
    MAX_REFUND_ALLOCATIONS,
    MAX_TENDERS_PER_PAYMENT,
    MAX_TEXT_LENGTH,
)
from customers.api.serializers import IdentifierList
from payments.gift_card_lines import GIFT_CARD_RELOAD, ITEM, LINE_KINDS, gift_card_lines_of
from payments.models import Payment, Refund, Tender
from payments.offline_policy import CLOCK_SKEW

_METHOD_FIELDS = {
    Tender.Method.VOUCHER: ({"code"}, set()),
    Tender.Method.GIFT_CARD: (set(), {"gift_card", "code"}),
    Tender.Method.LOYALTY_POINTS: (set(), set()),
    Tender.Method.CARD: (set(), {"bank_card", "payment_method"}),
    Tender.Method.CASH: (set(), set()),
    Tender.Method.EXTERNAL_CARD: ({"reference"}, set()),
    Tender.Method.OFFLINE_GIFT_CARD: ({"code"}, set()),
}
_PIN_METHODS = {Tender.Method.GIFT_CARD, Tender.Method.OFFLINE_GIFT_CARD}
_INSTRUMENT_FIELDS = {"gift_card", "bank_card", "code", "pin", "payment_method", "points"}


def _same_currency(items: list[dict[str, Any]], key: str, currency: str, name: str) -> None:
    """Every amount of a payment (or refund) is in its currency, reported where it is not."""
    errors: list[dict[str, list[str]]] = [
        {key: [f"Use {currency}, the currency of the whole."]}
        if key in item and item[key].currency.code != currency
        else {}
        for item in items
    ]
    if any(errors):
        raise serializers.ValidationError({name: errors}, code="currency_mismatch")


class BoundedList(serializers.ListSerializer):
    """A list refused as a whole, with its own code, when longer than `max_length`: before a
    single item is validated, so a huge list costs nothing."""

    def __init__(self, *, max_length: int, too_many_code: str, **kwargs: Any) -> None:
        self.max_items = max_length
        self.too_many_code = too_many_code
        super().__init__(max_length=max_length, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, list) and len(data) > self.max_items:
            raise serializers.ValidationError(
                f"At most {self.max_items} items, not {len(data)}.",
                code=ErrorCode(self.too_many_code, maximum=self.max_items),
            )
        return super().to_internal_value(data)


class TenderInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=Tender.Method.choices)
    amount = MoneyField(required=False, help_text="Omit: as much as it covers / the remainder.")
    points = PointsField(required=False)
    gift_card = serializers.UUIDField(required=False, help_text="A gift card in the wallet.")
    bank_card = serializers.UUIDField(required=False, help_text="A saved card in the wallet.")
    code = serializers.CharField(required=False, max_length=64, help_text="Voucher/gift card code.")
    pin = serializers.CharField(required=False, max_length=12)
    payment_method = serializers.RegexField(
        r"^pm_[A-Za-z0-9_]+$", required=False, max_length=64, help_text="From Stripe.js."
    )
    reference = serializers.CharField(
        required=False, max_length=100, help_text="The till terminal's authorisation code."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        required, one_of = _METHOD_FIELDS[attrs["method"]]
        for name in required:
            if not attrs.get(name):
                raise serializers.ValidationError({name: "This method needs it."}, code="required")
        if one_of and len(one_of & attrs.keys()) != 1:
            raise serializers.ValidationError(
                f"Give exactly one of: {', '.join(sorted(one_of))}.", code="ambiguous_instrument"
            )
        allowed = required | one_of | ({"pin"} if attrs["method"] in _PIN_METHODS else set())
        allowed |= {"points"} if attrs["method"] == Tender.Method.LOYALTY_POINTS else set()
        extra = (attrs.keys() & _INSTRUMENT_FIELDS) - allowed
        if extra:
            raise serializers.ValidationError(
                f"Not used by {attrs['method']}: {', '.join(sorted(extra))}.",
                code="unexpected_field",
            )
        if "points" in attrs and "amount" in attrs:
            raise serializers.ValidationError(
                "Give points or amount, not both.", code="ambiguous_amount"
            )
        return attrs


class BasketLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, default="")
    quantity = QuantityField()
    unit_price = MoneyField(allow_zero=True)
    kind = serializers.ChoiceField(
        choices=LINE_KINDS,
        required=False,
        default=ITEM,
        help_text="`gift_card` sells a new card of `unit_price`; `gift_card_reload` adds "
        "`unit_price` to `gift_card`. Either is fulfilled once the payment is captured.",
    )
    gift_card = serializers.UUIDField(required=False, help_text="The card a reload line tops up.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] != ITEM and (attrs["quantity"] != 1 or attrs["unit_price"].amount <= 0):
            raise serializers.ValidationError(
                "A gift card line is one card (quantity 1) with a value above zero.",
                code="invalid_gift_card_line",
            )
        if (attrs["kind"] == GIFT_CARD_RELOAD) != ("gift_card" in attrs):
            raise serializers.ValidationError(
                {"gift_card": "A reload line names its card, and only a reload line does."},
                code="invalid_gift_card_line",
            )
        return attrs


class PaymentCreateInput(serializers.Serializer):
    amount = MoneyField()
    channel = serializers.ChoiceField(choices=Payment.Channel.choices, required=False)
    customer = serializers.UUIDField(required=False)
    identifiers = IdentifierList(
        required=False, help_text="Resolve (or create) the customer from these."
    )
    external_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    basket = BoundedList(
        child=BasketLineInput(),
        required=False,
        default=list,
        max_length=MAX_BASKET_LINES,
        too_many_code="too_many_basket_lines",
        help_text="When given, it adds up to `amount`.",
    )
    tenders = BoundedList(
        child=TenderInput(),
        allow_empty=False,
        max_length=MAX_TENDERS_PER_PAYMENT,
        too_many_code="too_many_tenders",
    )
    capture = serializers.BooleanField(required=False, default=False)
    offline = serializers.BooleanField(
        required=False, default=False, help_text="A sale a till made offline, replayed now."
    )
    occurred_at = serializers.DateTimeField(
        required=False, help_text="When an offline sale was made (required with `offline`)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _validate_offline(attrs)
        currency = attrs["amount"].currency.code
        _same_currency(attrs["tenders"], "amount", currency, "tenders")
        _same_currency(attrs["basket"], "unit_price", currency, "basket")
        if attrs.get("customer") and attrs.get("identifiers"):
            raise serializers.ValidationError(
                "Give the customer or identifiers, not both.", code="ambiguous_customer"
            )
        if attrs["basket"]:
            total = sum(
                (line["unit_price"] * line["quantity"] for line in attrs["basket"]),
                Money(0, attrs["amount"].currency.code),
            )
            if total != attrs["amount"]:
                raise serializers.ValidationError(
                    {"basket": f"The basket adds up to {total}, not {attrs['amount']}."},
                    code="basket_total_mismatch",
                )
        return attrs


def _validate_offline(attrs: dict[str, Any]) -> None:
    occurred_at = attrs.get("occurred_at")
    if attrs["offline"] and occurred_at is None:
        raise serializers.ValidationError(
            {"occurred_at": "An offline sale says when it was made."}, code="required"
        )
    if occurred_at is not None and occurred_at > timezone.now() + CLOCK_SKEW:
        raise serializers.ValidationError(
            {"occurred_at": "A sale cannot have been made in the future."},
            code="occurred_in_future",
        )


class CaptureInput(serializers.Serializer):
    amount = MoneyField(required=False, help_text="Omit to capture the whole authorised amount.")


class AllocationInput(serializers.Serializer):
    tender = serializers.UUIDField()
    amount = MoneyField()


class RefundCreateInput(serializers.Serializer):
    amount = MoneyField()
    policy = serializers.ChoiceField(choices=Refund.Policy.choices, default=Refund.Policy.REVERSE)
    allocations = BoundedList(
        child=AllocationInput(),
        required=False,
        max_length=MAX_REFUND_ALLOCATIONS,
        too_many_code="too_many_refund_allocations",
    )
    reason = serializers.CharField(max_length=MAX_TEXT_LENGTH, required=False, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _same_currency(
            attrs.get("allocations", []), "amount", attrs["amount"].currency.code, "allocations"
        )
        if (attrs["policy"] == Refund.Policy.EXPLICIT) != bool(attrs.get("allocations")):
            raise serializers.ValidationError(
                {"allocations": "Allocations go with the explicit policy, and only with it."},
                code="invalid_refund_allocation",
            )
        return attrs


class NextActionOutput(serializers.Serializer):
    """What the web shop does for a card waiting for 3-D Secure: Stripe.js's
    `handleNextAction({clientSecret})`, then POST /payments/{id}/confirm."""

    type = serializers.CharField(help_text="Always `use_stripe_sdk`.")
    client_secret = serializers.CharField(help_text="The PaymentIntent's client secret.")


class TenderOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    sequence = serializers.IntegerField()
    method = serializers.CharField()
    status = serializers.ChoiceField(choices=Tender.Status.choices)
    amount = MoneyField()
    captured_amount = MoneyField(allow_zero=True)
    refunded_amount = MoneyField(allow_zero=True)
    points = serializers.IntegerField(allow_null=True)
    gift_card_last4 = serializers.CharField(source="gift_card.code_last4", default=None)
    card_brand = serializers.CharField(source="bank_card.brand", default=None)
    card_last4 = serializers.CharField(source="bank_card.last4", default=None)
    reference = serializers.CharField(source="external_reference")
    failure_code = serializers.CharField()
    next_action = serializers.SerializerMethodField()

    @extend_schema_field(NextActionOutput(allow_null=True))
    def get_next_action(self, tender: Tender) -> dict[str, str] | None:
        """Only while the card waits for the cardholder."""
        if tender.status != Tender.Status.REQUIRES_ACTION:
            return None
        return {"type": "use_stripe_sdk", "client_secret": tender.stripe_client_secret}


class AllocationOutput(serializers.Serializer):
    tender = serializers.UUIDField(source="tender.public_id")
    amount = MoneyField()
    points = serializers.IntegerField(allow_null=True)


class RefundOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    amount = MoneyField()
    policy = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    points_reversed = serializers.IntegerField()
    external = serializers.BooleanField()
    allocations = AllocationOutput(many=True)
    created_at = serializers.DateTimeField()


class GiftCardLineOutput(serializers.Serializer):
    line = serializers.IntegerField(help_text="The basket line's index.")
    kind = serializers.CharField()
    amount = MoneyField()
    gift_card = serializers.UUIDField(allow_null=True, help_text="Null until captured.")
    last4 = serializers.CharField(allow_null=True)
    code = serializers.CharField(allow_null=True, help_text="Only in the answer that issued it.")
    code_shown = serializers.BooleanField()


class _PaymentHeader(serializers.Serializer):
    """What every answer about a payment starts with, in a list or on its own."""

    id = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    channel = serializers.CharField()
    amount = MoneyField()
    captured_amount = MoneyField(allow_zero=True)
    refunded_amount = MoneyField(allow_zero=True)
    customer = serializers.UUIDField(source="customer.public_id", default=None)
    store = serializers.CharField(source="store.code", default=None)
    terminal = serializers.CharField(source="terminal.code", default=None)
    external_reference = serializers.CharField()
    created_at = serializers.DateTimeField()


class PaymentSummaryOutput(_PaymentHeader):
    """A payment in a list: its totals and which methods paid, not every tender's detail (that
    is GET /payments/{id}), so a page stays small whatever the payments hold."""

    tender_count = serializers.IntegerField()
    tender_methods = serializers.ListField(child=serializers.CharField())


class PaymentOutput(_PaymentHeader):
    points_earned = serializers.IntegerField()
    failure_code = serializers.CharField()
    failure_detail = serializers.CharField()
    tenders = TenderOutput(many=True)
    refunds = RefundOutput(many=True)
    occurred_at = serializers.DateTimeField(allow_null=True)
    offline = serializers.BooleanField()
    offline_late = serializers.BooleanField()
    gift_cards = serializers.SerializerMethodField()
    authorized_at = serializers.DateTimeField(allow_null=True)
    captured_at = serializers.DateTimeField(allow_null=True)
    voided_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(GiftCardLineOutput(many=True))
    def get_gift_cards(self, payment: Payment) -> list[dict[str, Any]]:
        """The cards the basket sold or reloaded (their codes only in the answer that issued
        them)."""
        return [
            {"code": None, "code_shown": False, **line}
            for line in gift_card_lines_of(payment.basket)
        ]


class PurchaseSummaryRow(serializers.Serializer):
    channel = serializers.CharField()
    payments = serializers.IntegerField()
    spent = MoneyField(allow_zero=True, help_text="Captured minus refunded.")
    refunded = MoneyField(allow_zero=True)
    stores = serializers.IntegerField()
    points_earned = serializers.IntegerField()
    last_purchase_at = serializers.DateTimeField()


class PurchaseSummaryOutput(serializers.Serializer):
    customer = serializers.UUIDField()
    channels = PurchaseSummaryRow(many=True)
