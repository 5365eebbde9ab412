"""Input and output serializers of the wallet API, and the presenters that feed the outputs.

Money is `{"amount": "12.50", "currency": "EUR"}`; points are `{"points": 120, "unit": ...}`.
"""

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from moneyed import Money
from rest_framework import serializers

from config.api.fields import CurrencyField, MoneyField
from config.limits import MAX_TEXT_LENGTH
from wallet.models import (
    BankCard,
    Channel,
    GiftCard,
    LedgerAccount,
    LoyaltyAccount,
    Transfer,
    Voucher,
)
from wallet.selectors import CustomerWallet, loyalty_points_value


@extend_schema_field(OpenApiTypes.STR)
class Choice(serializers.ChoiceField):
    """A choice documented by its help text: the shared schema would otherwise need a
    settings-level enum name for every `status` and `kind` of every app."""

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        values = ", ".join(str(value) for value, _ in choices)
        kwargs.setdefault("help_text", f"One of: {values}.")
        super().__init__(choices=choices, **kwargs)


# --- outputs ----------------------------------------------------------------------------------


class GiftCardOutput(serializers.Serializer):
    id = serializers.UUIDField()
    last4 = serializers.CharField()
    currency = serializers.CharField()
    status = Choice(GiftCard.Status.choices)
    expires_at = serializers.DateTimeField(allow_null=True)
    customer = serializers.UUIDField(allow_null=True)
    balance = MoneyField(allow_zero=True, help_text="Posted value on the card.")
    held = MoneyField(allow_zero=True, help_text="Held by payments not yet captured.")
    available = MoneyField(allow_zero=True, help_text="What can be spent now.")


CODE_SHOWN_HELP = (
    "true: `code` is in this answer, and never again; false: a replay of the issue, the code was "
    "shown on the first answer only."
)


class IssuedGiftCardOutput(GiftCardOutput):
    code = serializers.CharField(
        allow_null=True, help_text="Shown once, at issue; null when a retry found the first issue."
    )
    code_shown = serializers.BooleanField(help_text=CODE_SHOWN_HELP)


class PointsOutput(serializers.Serializer):
    points = serializers.IntegerField()
    unit = serializers.CharField()


class LoyaltyAccountOutput(serializers.Serializer):
    id = serializers.UUIDField()
    programme = serializers.CharField()
    currency = serializers.CharField()
    is_open = serializers.BooleanField()
    balance = PointsOutput()
    held = PointsOutput()
    available = PointsOutput()
    available_value = MoneyField(allow_zero=True, help_text="What the available points pay.")


class VoucherOutput(serializers.Serializer):
    id = serializers.UUIDField()
    last4 = serializers.CharField()
    kind = Choice(Voucher.Kind.choices)
    amount = MoneyField(allow_null=True)
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    minimum_basket = MoneyField(allow_zero=True)
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    channels = serializers.ListField(child=Choice(Channel.choices))
    max_uses_total = serializers.IntegerField(allow_null=True)
    max_uses_per_customer = serializers.IntegerField(allow_null=True)
    status = Choice(Voucher.Status.choices)
    customer = serializers.UUIDField(allow_null=True)


class IssuedVoucherOutput(VoucherOutput):
    code = serializers.CharField(
        allow_null=True, help_text="Shown once, at issue; null when a retry found the first issue."
    )
    code_shown = serializers.BooleanField(help_text=CODE_SHOWN_HELP)


class VoucherValidationOutput(serializers.Serializer):
    voucher = VoucherOutput()
    discount = MoneyField(allow_zero=True, help_text="The money off this basket gets.")


class BankCardOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()
    is_default = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WalletOutput(serializers.Serializer):
    customer = serializers.UUIDField()
    gift_cards = GiftCardOutput(many=True)
    vouchers = VoucherOutput(many=True)
    loyalty_accounts = LoyaltyAccountOutput(many=True)
    bank_cards = BankCardOutput(many=True)


class LoyaltyMovementOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = Choice(Transfer.Kind.choices)
    code = Choice(Transfer.Code.choices)
    points = serializers.IntegerField(help_text="Signed: + credited to the account, - taken.")
    state = serializers.CharField(help_text="For a hold: pending, posted or voided.")
    expires_at = serializers.DateTimeField(allow_null=True)
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()


class LoyaltyHistoryOutput(serializers.Serializer):
    account = LoyaltyAccountOutput()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = LoyaltyMovementOutput(many=True)


class LoyaltyAccountsOutput(serializers.Serializer):
    customer = serializers.UUIDField()
    accounts = LoyaltyAccountOutput(many=True)


# --- presenters -------------------------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount, currency)


def _points(amount: Decimal, unit: str) -> dict[str, Any]:
    return {"points": int(amount), "unit": unit}


def present_gift_card(card: GiftCard, account: LedgerAccount | None = None) -> dict[str, Any]:
    account = account or card.account
    return {
        "id": card.public_id,
        "last4": card.code_last4,
        "currency": card.currency,
        "status": card.status,
        "expires_at": card.expires_at,
        "customer": card.customer.public_id if card.customer_id and card.customer else None,
        "balance": _money(account.balance, card.currency),
        "held": _money(account.held, card.currency),
        "available": _money(account.available, card.currency),
    }


def present_loyalty_account(account: LoyaltyAccount) -> dict[str, Any]:
    ledger = account.account
    return {
        "id": account.public_id,
        "programme": account.programme.name,
        "currency": account.programme.currency,
        "is_open": account.closed_at is None,
        "balance": _points(ledger.balance, ledger.unit),
        "held": _points(ledger.held, ledger.unit),
        "available": _points(ledger.available, ledger.unit),
        "available_value": loyalty_points_value(account=account),
    }


def present_voucher(voucher: Voucher) -> dict[str, Any]:
    return {
        "id": voucher.public_id,
        "last4": voucher.code_last4,
        "kind": voucher.kind,
        "amount": _money(voucher.amount, voucher.currency) if voucher.amount is not None else None,
        "percent": voucher.percent,
        "minimum_basket": _money(voucher.minimum_basket, voucher.currency),
        "valid_from": voucher.valid_from,
        "valid_until": voucher.valid_until,
        "channels": list(voucher.channels),
        "max_uses_total": voucher.max_uses_total,
        "max_uses_per_customer": voucher.max_uses_per_customer,
        "status": voucher.status,
        "customer": voucher.customer.public_id
        if voucher.customer_id and voucher.customer
        else None,
    }


def present_bank_card(card: BankCard, default_id: int | None) -> dict[str, Any]:
    return {
        "public_id": card.public_id,
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "is_default": card.pk == default_id,
        "created_at": card.created_at,
    }


def present_wallet(wallet: CustomerWallet) -> dict[str, Any]:
    default = next((card for card in wallet.bank_cards if card.default_since), None)
    return {
        "customer": wallet.customer.public_id,
        "gift_cards": [present_gift_card(card) for card in wallet.gift_cards],
        "vouchers": [present_voucher(voucher) for voucher in wallet.vouchers],
        "loyalty_accounts": [present_loyalty_account(a) for a in wallet.loyalty_accounts],
        "bank_cards": [
            present_bank_card(card, default.pk if default else None) for card in wallet.bank_cards
        ],
    }


def present_movement(transfer: Transfer, ledger_account_id: int) -> dict[str, Any]:
    sign = 1 if transfer.credit_account_id == ledger_account_id else -1
    if transfer.kind == Transfer.Kind.VOID_PENDING:
        sign = -sign  # a void gives back what its hold took
    return {
        "id": transfer.public_id,
        "kind": transfer.kind,
        "code": transfer.code,
        "points": sign * int(transfer.amount),
        "state": transfer.state,
        "expires_at": transfer.expires_at,
        "reference": transfer.reference,
        "created_at": transfer.created_at,
    }


# --- inputs -----------------------------------------------------------------------------------

# A use limit beyond this is "unlimited" (null); the bound keeps the value inside its column.
MAX_VOUCHER_USES = 1_000_000_000


class CodeInput(serializers.Serializer):
    code = serializers.CharField(max_length=64, trim_whitespace=True)
    pin = serializers.CharField(max_length=16, required=False, allow_null=True, default=None)


class GiftCardClaimInput(CodeInput):
    customer = serializers.UUIDField()


class GiftCardIssueInput(serializers.Serializer):
    initial_value = MoneyField()
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    pin = serializers.RegexField(
        r"^[0-9]{4,8}$", required=False, allow_null=True, default=None, help_text="4-8 digits."
    )
    customer = serializers.UUIDField(required=False, allow_null=True, default=None)
    active = serializers.BooleanField(
        default=True, help_text="false: the card must be activated before use."
    )


class GiftCardReloadInput(serializers.Serializer):
    amount = MoneyField()


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_TEXT_LENGTH)


class VoucherIssueInput(serializers.Serializer):
    currency = CurrencyField()
    amount = MoneyField(required=False, allow_null=True, default=None)
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, default=None
    )
    minimum_basket = MoneyField(required=False, allow_null=True, default=None)
    valid_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    channels = serializers.ListField(child=Choice(Channel.choices), required=False, min_length=1)
    max_uses_total = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=1,
        min_value=1,
        max_value=MAX_VOUCHER_USES,
        help_text="null = unlimited.",
    )
    max_uses_per_customer = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_VOUCHER_USES
    )
    customer = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="Empty for a bearer voucher."
    )


class VoucherValidateInput(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    basket_total = MoneyField()
    channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, help_text="Default: pos for a till, else web."
    )
    customer = serializers.UUIDField(required=False, allow_null=True, default=None)


class BankCardAttachInput(serializers.Serializer):
    payment_method = serializers.RegexField(
        r"^pm_[A-Za-z0-9_]+$", max_length=255, help_text="A PaymentMethod id from Stripe.js."
    )
