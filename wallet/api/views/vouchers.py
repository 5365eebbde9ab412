"""Vouchers: issue, and validate against a basket."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from merchants.authentication import request_api_key
from merchants.idempotency import idempotent
from merchants.models import ApiKey
from wallet.api import serializers as s
from wallet.api.views.common import (
    IDEMPOTENCY_KEY,
    ISSUERS,
    LOCKED,
    CodeIssueView,
    WalletView,
    _optional_customer,
    _reference,
)
from wallet.models import Channel, Voucher
from wallet.selectors import (
    voucher_evaluate,
    voucher_find,
)
from wallet.services import (
    voucher_issue,
)


class VoucherIssueView(CodeIssueView):
    allowed_scopes = ISSUERS

    @extend_schema(
        operation_id="voucher_issue",
        summary="Issue a voucher; its code is in this response only.",
        parameters=[IDEMPOTENCY_KEY],
        request=s.VoucherIssueInput,
        responses={201: s.IssuedVoucherOutput},
    )
    def post(self, request: Request) -> Response:
        return self.answer_with_code(request, VoucherIssueView.issue)

    @idempotent
    def issue(self, request: Request) -> Response:
        data = s.VoucherIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        issued = voucher_issue(
            merchant=request_api_key(request).merchant,
            currency=values["currency"],
            amount=values["amount"],
            percent=values["percent"],
            minimum_basket=values["minimum_basket"],
            valid_from=values["valid_from"],
            valid_until=values["valid_until"],
            channels=values.get("channels"),
            max_uses_total=values["max_uses_total"],
            max_uses_per_customer=values["max_uses_per_customer"],
            customer=_optional_customer(request, values["customer"]),
            reference=_reference(request),
        )
        self.shown_code = issued.code
        body = {**s.present_voucher(issued.voucher), "code": None, "code_shown": False}
        return Response(s.IssuedVoucherOutput(body).data, status=status.HTTP_201_CREATED)


class VoucherValidateView(WalletView):
    @extend_schema(
        operation_id="voucher_validate",
        summary="What a voucher takes off a basket, or the coded reason it does not apply.",
        request=s.VoucherValidateInput,
        responses={200: s.VoucherValidationOutput, 429: LOCKED},
    )
    def post(self, request: Request) -> Response:
        data = s.VoucherValidateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        api_key = request_api_key(request)
        customer = _optional_customer(request, values["customer"])
        default_channel = Channel.POS if api_key.scope == ApiKey.Scope.TERMINAL else Channel.WEB
        with self.guard(request):
            voucher: Voucher = voucher_find(merchant_id=api_key.merchant_id, code=values["code"])
        discount = voucher_evaluate(
            voucher=voucher,
            basket_total=values["basket_total"],
            channel=values.get("channel", default_channel),
            customer=customer,
        )
        body = {"voucher": s.present_voucher(voucher), "discount": discount}
        return Response(s.VoucherValidationOutput(body).data)
