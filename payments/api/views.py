from typing import Any

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.actors import api_key_actor
from config.api.pagination import NewestFirstPagination
from config.money import money_json
from customers.models import Customer, Strength
from customers.policy import PresentedIdentifier
from customers.selectors import customer_get_for_api_key
from customers.services import customer_identify
from merchants.authentication import request_api_key
from merchants.idempotency import HEADER, idempotency_key_valid, idempotent, request_fingerprint
from merchants.models import ApiKey
from payments import webhooks
from payments.api.serializers import (
    CaptureInput,
    PaymentCreateInput,
    PaymentOutput,
    PaymentSummaryOutput,
    PurchaseSummaryOutput,
    RefundCreateInput,
    RefundOutput,
)
from payments.errors import ChannelNotAllowed
from payments.models import Payment
from payments.selectors import (
    customer_purchase_summary,
    payment_detail,
    payment_get_for_api_key,
    payment_list,
)
from payments.services.authentication import payment_confirm
from payments.services.capture import payment_capture
from payments.services.common import PaymentRequest, TenderRequest
from payments.services.create import payment_create
from payments.services.gift_card_lines import FulfilledLine
from payments.services.refund import refund_create
from payments.services.sale_fast import sale_fast
from payments.services.void import payment_void
from payments.tasks import stripe_event_process
from wallet.guessing import client_ip

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e]{1,255}$"},
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "One key per operation (visible ASCII, a UUID is ideal); retries with the same key "
        "replay the first response."
    ),
)


PAYMENT_SCOPES = (ApiKey.Scope.MERCHANT, ApiKey.Scope.TERMINAL, ApiKey.Scope.STAFF)


def _customer(api_key: ApiKey, values: dict[str, Any], channel: str) -> Customer | None:
    """The payment's customer: named by id, or resolved from the identifiers presented."""
    if values.get("customer"):
        # Attaching the sale needs no more than a typed identifier; each tender that spends
        # the customer's wallet checks the strength it needs (payments.methods).
        return customer_get_for_api_key(
            api_key=api_key, public_id=values["customer"], strength=Strength.WEAK
        )
    if not values.get("identifiers"):
        return None
    identification = customer_identify(
        merchant=api_key.merchant,
        identifiers=[PresentedIdentifier(**item) for item in values["identifiers"]],
        channel=channel,
        api_key=api_key,
    )
    return identification.customer


def _payment_response(payment: Payment, status: int = 200) -> Response:
    """From the objects the engine holds when it kept them (a sale), else read back."""
    if "tenders" not in getattr(payment, "_prefetched_objects_cache", {}):
        payment = payment_detail(payment_id=payment.pk)
    return Response(PaymentOutput(payment).data, status=status)


def _basket_line(line: dict[str, Any]) -> dict[str, Any]:
    stored = {**line, "unit_price": money_json(line["unit_price"])}
    if "gift_card" in line:
        stored["gift_card"] = str(line["gift_card"])
    return stored


def _sale_fast(request: Request, values: dict[str, Any] | None) -> dict[str, Any] | None:
    """The till's everyday sale on its fast path (payments.services.sale_fast), or None: then
    the general path (`create`) runs and answers it. `values`: the request, validated."""
    api_key = request_api_key(request)
    key = request.headers.get(HEADER, "")
    if values is None or api_key.scope != ApiKey.Scope.TERMINAL:
        return None
    if not idempotency_key_valid(key.strip()):
        return None
    if values.get("channel", Payment.Channel.POS) != Payment.Channel.POS:
        return None
    return sale_fast(
        api_key=api_key,
        idempotency_key=key,
        record_key=key.strip(),
        fingerprint=request_fingerprint(request),
        values=values,
        basket=[_basket_line(line) for line in values["basket"]],
    )


class ShowsIssuedCodes(APIView):
    """An idempotent payment answer that may carry the codes of gift cards its capture issued.

    Like the wallet's issue (wallet.api.views.CodeIssueView), the recorded answer has no code
    (`code: null, code_shown: false`); only the request that issued adds it on its way out.
    """

    issued: list[FulfilledLine] = []

    def with_codes(self, request: Request, handler: Any, *args: Any) -> Response:
        self.issued = []
        response: Response = handler(self, request, *args)
        codes = {item.line: item.code for item in self.issued if item.code}
        if not codes:
            return response
        lines = [
            {**line, "code": codes.get(line["line"]), "code_shown": line["line"] in codes}
            for line in response.data["gift_cards"]
        ]
        return Response({**response.data, "gift_cards": lines}, status=response.status_code)


class PaymentCollectionView(ShowsIssuedCodes):
    allowed_scopes = PAYMENT_SCOPES
    # Read by drf-spectacular too, so the list's schema is the paginated object it answers.
    pagination_class = NewestFirstPagination
    payment_input: PaymentCreateInput  # the request body, bound and validated by `post`

    class ListFilter(serializers.Serializer):
        reference = serializers.CharField(required=False, max_length=200)
        status = serializers.ChoiceField(choices=Payment.Status.choices, required=False)
        created_from = serializers.DateTimeField(required=False)
        created_to = serializers.DateTimeField(required=False)
        terminal = serializers.UUIDField(required=False)

    @extend_schema(
        parameters=[ListFilter],
        responses=PaymentSummaryOutput(many=True),
        operation_id="payments_list",
    )
    def get(self, request: Request) -> Response:
        filters = self.ListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        payments = payment_list(api_key=request_api_key(request), **filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(payments, request, view=self)
        return paginator.get_paginated_response(PaymentSummaryOutput(page, many=True).data)

    @extend_schema(
        request=PaymentCreateInput,
        responses={201: PaymentOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="payments_create",
    )
    def post(self, request: Request) -> Response:
        # Validated once for both paths (DRF keeps the outcome); `create` answers the invalid.
        self.payment_input = PaymentCreateInput(data=request.data)
        values = self.payment_input.validated_data if self.payment_input.is_valid() else None
        if settings.KASSA_POS_SALE_FAST and (answer := _sale_fast(request, values)) is not None:
            return Response(answer, status=201)
        return self.with_codes(request, PaymentCollectionView.create)

    @idempotent
    def create(self, request: Request) -> Response:
        api_key = request_api_key(request)
        data = self.payment_input
        data.is_valid(raise_exception=True)
        values = data.validated_data
        expected = (
            Payment.Channel.POS if api_key.scope == ApiKey.Scope.TERMINAL else Payment.Channel.WEB
        )
        channel = values.get("channel", expected)
        if channel != expected:
            raise ChannelNotAllowed(field="channel")
        customer = _customer(api_key, values, channel)
        basket = [_basket_line(line) for line in values["basket"]]
        payment = payment_create(
            api_key=api_key,
            idempotency_key=request.headers[HEADER],
            client_ip=client_ip(request),
            request=PaymentRequest(
                amount=values["amount"],
                channel=channel,
                customer=customer,
                external_reference=values["external_reference"],
                basket=basket,
                capture=values["capture"],
                occurred_at=values.get("occurred_at"),
                offline=values["offline"],
                tenders=[
                    TenderRequest(
                        method=t["method"],
                        amount=t.get("amount"),
                        points=t.get("points"),
                        gift_card=str(t["gift_card"]) if t.get("gift_card") else None,
                        bank_card=str(t["bank_card"]) if t.get("bank_card") else None,
                        code=t.get("code"),
                        pin=t.get("pin"),
                        payment_method=t.get("payment_method"),
                        reference=t.get("reference", ""),
                    )
                    for t in values["tenders"]
                ],
            ),
        )
        self.issued = getattr(payment, "issued_gift_cards", [])
        return _payment_response(payment, status=201)


class PaymentDetailView(APIView):
    allowed_scopes = PAYMENT_SCOPES

    @extend_schema(responses=PaymentOutput, operation_id="payments_retrieve")
    def get(self, request: Request, payment_id: str) -> Response:
        payment = payment_get_for_api_key(api_key=request_api_key(request), public_id=payment_id)
        return Response(PaymentOutput(payment).data)


class PaymentCaptureView(ShowsIssuedCodes):
    allowed_scopes = PAYMENT_SCOPES

    @extend_schema(
        request=CaptureInput, responses=PaymentOutput, parameters=[IDEMPOTENCY_PARAMETER]
    )
    def post(self, request: Request, payment_id: str) -> Response:
        return self.with_codes(request, PaymentCaptureView.capture, payment_id)

    @idempotent
    def capture(self, request: Request, payment_id: str) -> Response:
        api_key = request_api_key(request)
        payment = payment_get_for_api_key(api_key=api_key, public_id=payment_id, details=False)
        data = CaptureInput(data=request.data)
        data.is_valid(raise_exception=True)
        payment = payment_capture(
            payment=payment,
            amount=data.validated_data.get("amount"),
            actor=api_key_actor(api_key),
        )
        self.issued = getattr(payment, "issued_gift_cards", [])
        return _payment_response(payment)


class PaymentVoidView(APIView):
    allowed_scopes = PAYMENT_SCOPES

    @extend_schema(request=None, responses=PaymentOutput, parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request: Request, payment_id: str) -> Response:
        api_key = request_api_key(request)
        payment = payment_get_for_api_key(api_key=api_key, public_id=payment_id, details=False)
        return _payment_response(payment_void(payment=payment, actor=api_key_actor(api_key)))


class PaymentConfirmView(APIView):
    """The web shop's step after Stripe.js finished 3-D Secure for a `requires_action` payment."""

    allowed_scopes = (ApiKey.Scope.MERCHANT,)

    @extend_schema(
        request=None,
        responses=PaymentOutput,
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="payments_confirm",
        description=(
            "Conclude a payment waiting in `requires_action`: authorised (and captured if it "
            "was created with `capture: true`) once every card passed 3-D Secure; 402 "
            "`card_authentication_failed` (the payment failed, every hold released) when one "
            "did not; 409 `authentication_pending` while one still waits; 409 "
            "`invalid_payment_state` for a payment that is not waiting."
        ),
    )
    @idempotent
    def post(self, request: Request, payment_id: str) -> Response:
        api_key = request_api_key(request)
        payment = payment_get_for_api_key(api_key=api_key, public_id=payment_id, details=False)
        return _payment_response(payment_confirm(payment=payment, actor=api_key_actor(api_key)))


class RefundCreateView(APIView):
    allowed_scopes = PAYMENT_SCOPES

    @extend_schema(
        request=RefundCreateInput, responses={201: RefundOutput}, parameters=[IDEMPOTENCY_PARAMETER]
    )
    @idempotent
    def post(self, request: Request, payment_id: str) -> Response:
        api_key = request_api_key(request)
        payment = payment_get_for_api_key(api_key=api_key, public_id=payment_id, details=False)
        data = RefundCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        refund = refund_create(
            payment=payment,
            amount=values["amount"],
            policy=values["policy"],
            allocations=[(str(a["tender"]), a["amount"]) for a in values.get("allocations", [])],
            reason=values["reason"],
            actor=api_key_actor(api_key),
            api_key=api_key,
            idempotency_key=request.headers[HEADER],
        )
        return Response(RefundOutput(refund).data, status=201)


class CustomerPurchasesView(APIView):
    """The customer's purchases across web and stores: the profile's cross-channel summary."""

    allowed_scopes = PAYMENT_SCOPES

    @extend_schema(responses=PurchaseSummaryOutput, operation_id="customers_purchases")
    def get(self, request: Request, public_id: str) -> Response:
        customer = customer_get_for_api_key(api_key=request_api_key(request), public_id=public_id)
        summary = {
            "customer": customer.public_id,
            "channels": customer_purchase_summary(customer=customer),
        }
        return Response(PurchaseSummaryOutput(summary).data)


class StripeWebhookView(APIView):
    """Stripe's events, verified by signature; each event is stored and processed once."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(request=None, responses={200: None}, operation_id="stripe_webhook")
    def post(self, request: Request) -> Response:
        event = webhooks.stripe_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
        if event is not None:
            transaction.on_commit(lambda: stripe_event_process.delay(event.pk))
        return Response({"received": True, "duplicate": event is None})
