"""Gift cards: issue, read, reload, activate, block and unblock, check a balance by code, claim
into a wallet.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from merchants.authentication import request_api_key
from merchants.idempotency import idempotent
from wallet.api import serializers as s
from wallet.api.views.common import (
    IDEMPOTENCY_KEY,
    ISSUERS,
    LOCKED,
    CodeIssueView,
    WalletView,
    _actor,
    _customer,
    _optional_customer,
    _reference,
)
from wallet.models import GiftCard
from wallet.selectors import (
    gift_card_find,
    gift_card_get,
)
from wallet.services import (
    gift_card_activate,
    gift_card_block,
    gift_card_claim,
    gift_card_issue,
    gift_card_reload,
    gift_card_unblock,
)


class GiftCardIssueView(CodeIssueView):
    allowed_scopes = ISSUERS

    @extend_schema(
        operation_id="gift_card_issue",
        summary="Issue a gift card; its code is in this response only.",
        parameters=[IDEMPOTENCY_KEY],
        request=s.GiftCardIssueInput,
        responses={201: s.IssuedGiftCardOutput, 200: s.IssuedGiftCardOutput},
    )
    def post(self, request: Request) -> Response:
        return self.answer_with_code(request, GiftCardIssueView.issue)

    @idempotent
    def issue(self, request: Request) -> Response:
        data = s.GiftCardIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        issued = gift_card_issue(
            merchant=request_api_key(request).merchant,
            initial_value=values["initial_value"],
            expires_at=values["expires_at"],
            pin=values["pin"],
            customer=_optional_customer(request, values["customer"]),
            active=values["active"],
            reference=_reference(request),
            actor=_actor(request),
        )
        self.shown_code = issued.code
        body = {**s.present_gift_card(issued.gift_card), "code": None, "code_shown": False}
        code = status.HTTP_200_OK if issued.replayed else status.HTTP_201_CREATED
        return Response(s.IssuedGiftCardOutput(body).data, status=code)


class GiftCardDetailView(WalletView):
    allowed_scopes = ISSUERS

    @extend_schema(operation_id="gift_card_retrieve", responses=s.GiftCardOutput)
    def get(self, request: Request, gift_card_id: str) -> Response:
        card = gift_card_get(api_key=request_api_key(request), public_id=gift_card_id)
        return Response(s.GiftCardOutput(s.present_gift_card(card)).data)


class GiftCardReloadView(WalletView):
    allowed_scopes = ISSUERS

    @extend_schema(
        operation_id="gift_card_reload",
        parameters=[IDEMPOTENCY_KEY],
        request=s.GiftCardReloadInput,
        responses=s.GiftCardOutput,
    )
    @idempotent
    def post(self, request: Request, gift_card_id: str) -> Response:
        card = gift_card_get(api_key=request_api_key(request), public_id=gift_card_id)
        data = s.GiftCardReloadInput(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = gift_card_reload(
            gift_card=card,
            amount=data.validated_data["amount"],
            reference=_reference(request),
            actor=_actor(request),
        )
        card.account.refresh_from_db()
        return Response(s.GiftCardOutput(s.present_gift_card(card, transfer.credit_account)).data)


class GiftCardActivateView(WalletView):
    allowed_scopes = ISSUERS

    @extend_schema(operation_id="gift_card_activate", request=None, responses=s.GiftCardOutput)
    def post(self, request: Request, gift_card_id: str) -> Response:
        card = gift_card_get(api_key=request_api_key(request), public_id=gift_card_id)
        card = gift_card_activate(gift_card=card, actor=_actor(request))
        return Response(s.GiftCardOutput(s.present_gift_card(card)).data)


class GiftCardBlockView(WalletView):
    allowed_scopes = ISSUERS
    operation = staticmethod(gift_card_block)

    @extend_schema(
        operation_id="gift_card_block", request=s.ReasonInput, responses=s.GiftCardOutput
    )
    def post(self, request: Request, gift_card_id: str) -> Response:
        card = gift_card_get(api_key=request_api_key(request), public_id=gift_card_id)
        data = s.ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        changed: GiftCard = self.operation(
            gift_card=card,
            reason=data.validated_data["reason"],
            actor=_actor(request),
        )
        return Response(s.GiftCardOutput(s.present_gift_card(changed)).data)


class GiftCardUnblockView(GiftCardBlockView):
    operation = staticmethod(gift_card_unblock)

    @extend_schema(
        operation_id="gift_card_unblock", request=s.ReasonInput, responses=s.GiftCardOutput
    )
    def post(self, request: Request, gift_card_id: str) -> Response:
        return super().post(request, gift_card_id)


class GiftCardBalanceView(WalletView):
    @extend_schema(
        operation_id="gift_card_balance",
        summary="Balance of a card by its code (and PIN). Wrong guesses are rate-limited.",
        request=s.CodeInput,
        responses={200: s.GiftCardOutput, 429: LOCKED},
    )
    def post(self, request: Request) -> Response:
        data = s.CodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        with self.guard(request):
            card = gift_card_find(
                merchant_id=request_api_key(request).merchant_id,
                code=data.validated_data["code"],
                pin=data.validated_data["pin"],
            )
        return Response(s.GiftCardOutput(s.present_gift_card(card)).data)


class GiftCardClaimView(WalletView):
    @extend_schema(
        operation_id="gift_card_claim",
        summary="Put a card, by its code (and PIN), into a customer's wallet.",
        request=s.GiftCardClaimInput,
        responses={200: s.GiftCardOutput, 429: LOCKED},
    )
    def post(self, request: Request) -> Response:
        data = s.GiftCardClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = _customer(request, data.validated_data["customer"])
        with self.guard(request):
            card = gift_card_find(
                merchant_id=request_api_key(request).merchant_id,
                code=data.validated_data["code"],
                pin=data.validated_data["pin"],
            )
        card = gift_card_claim(gift_card=card, customer=customer)
        return Response(s.GiftCardOutput(s.present_gift_card(card)).data)
