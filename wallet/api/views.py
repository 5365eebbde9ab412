"""Wallet API: one view per operation, thin over selectors and services.

Scopes: issuing and reloading gift cards, issuing vouchers, and changing a card's status take a
merchant (web shop) or staff (back office) key. Issuing and reloading (the POSTs that create
value) need an Idempotency-Key, through the one mechanism every API uses
(merchants.idempotency.idempotent). Tills (terminal keys) may check a balance by
code, claim a card into the wallet of a customer they identified, validate a voucher, and read
the wallets of customers they identified. Saving and removing bank cards is for merchant and
staff keys (a card is saved from the web shop, through Stripe.js).
"""

from collections.abc import Callable, Sequence
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.actors import api_key_actor
from config.api.pagination import NewestFirstPagination
from customers.models import Customer
from customers.selectors import customer_get_for_api_key
from merchants.authentication import request_api_key
from merchants.idempotency import HEADER, idempotent
from merchants.models import ApiKey
from wallet.api import serializers as s
from wallet.guessing import client_ip, code_guessing_guard
from wallet.models import Channel, GiftCard, Voucher
from wallet.selectors import (
    bank_card_default,
    bank_card_get,
    bank_cards_of,
    customer_wallet,
    gift_card_find,
    gift_card_get,
    loyalty_account_get,
    loyalty_history,
    voucher_evaluate,
    voucher_find,
)
from wallet.services import (
    bank_card_attach,
    bank_card_remove,
    bank_card_set_default,
    gift_card_activate,
    gift_card_block,
    gift_card_claim,
    gift_card_issue,
    gift_card_reload,
    gift_card_unblock,
    voucher_issue,
)

ISSUERS = (ApiKey.Scope.MERCHANT, ApiKey.Scope.STAFF)
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A retry with the same key returns the first result instead of moving money twice.",
)
LOCKED = OpenApiResponse(description="Too many wrong codes or PINs (`code_attempts_locked`).")


def _customer(request: Request, public_id: Any) -> Customer:
    return customer_get_for_api_key(api_key=request_api_key(request), public_id=public_id)


def _optional_customer(request: Request, public_id: Any) -> Customer | None:
    return None if public_id is None else _customer(request, public_id)


def _reference(request: Request) -> str:
    """The ledger reference of an idempotent request: its Idempotency-Key, scoped to the API
    key like the key itself, so two keys of one merchant never meet. A retry that takes over
    the claim of a request that crashed after committing finds the first issue or reload."""
    return f"api_key:{request_api_key(request).pk}:{request.headers[HEADER].strip()}"


def _actor(request: Request) -> str:
    return api_key_actor(request_api_key(request))


class WalletView(APIView):
    def guard(self, request: Request) -> Any:
        return code_guessing_guard(
            api_key_id=request_api_key(request).pk, client_ip=client_ip(request)
        )


class CodeIssueView(WalletView):
    """An idempotent issue whose answer carries a code that is shown once.

    Decision: the idempotency record must not keep the code in clear, so `issue` answers
    without it (`code: null, code_shown: false`) and that answer is what is recorded; only the
    request that issued adds the code (`code_shown: true`) on its way out. A replay answers the
    recorded instrument with `code: null, code_shown: false`: the code was shown on the first
    answer only, and a lost first answer means a lost code (block the instrument, issue again).
    """

    shown_code: str | None = None

    def answer_with_code(self, request: Request, issue: Callable[..., Response]) -> Response:
        self.shown_code = None
        response = issue(self, request)
        if self.shown_code is None:  # a replay or a refusal
            return response
        body = {**response.data, "code": self.shown_code, "code_shown": True}
        return Response(body, status=response.status_code)


class CustomerWalletView(WalletView):
    @extend_schema(
        operation_id="wallet_retrieve",
        summary="Every instrument of a customer, with available and held balances.",
        responses=s.WalletOutput,
    )
    def get(self, request: Request, customer_id: str) -> Response:
        wallet = customer_wallet(customer=_customer(request, customer_id))
        return Response(s.WalletOutput(s.present_wallet(wallet)).data)


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


class LoyaltyAccountsView(WalletView):
    @extend_schema(
        operation_id="loyalty_accounts",
        summary="A customer's points balances.",
        responses=s.LoyaltyAccountsOutput,
    )
    def get(self, request: Request, customer_id: str) -> Response:
        wallet = customer_wallet(customer=_customer(request, customer_id))
        body = {
            "customer": wallet.customer.public_id,
            "accounts": [s.present_loyalty_account(a) for a in wallet.loyalty_accounts],
        }
        return Response(s.LoyaltyAccountsOutput(body).data)


class HistoryPagination(NewestFirstPagination):
    ordering = ("-created_at", "-id")  # type: ignore[assignment]  # ties broken by id


class LoyaltyHistoryView(WalletView):
    @extend_schema(
        operation_id="loyalty_history",
        summary="Every points movement of an account, newest first (cursor-paginated).",
        parameters=[
            OpenApiParameter("cursor", str, OpenApiParameter.QUERY, required=False),
            OpenApiParameter("page_size", int, OpenApiParameter.QUERY, required=False),
        ],
        responses=s.LoyaltyHistoryOutput,
    )
    def get(self, request: Request, customer_id: str, account_id: str) -> Response:
        account = loyalty_account_get(
            customer=_customer(request, customer_id), public_id=account_id
        )
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(loyalty_history(account=account), request, view=self)
        body = {
            "account": s.present_loyalty_account(account),
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": [s.present_movement(t, account.account_id) for t in page or []],
        }
        return Response(s.LoyaltyHistoryOutput(body).data)


class BankCardsView(WalletView):
    def get_permissions(self) -> Sequence[Any]:
        self.allowed_scopes = ISSUERS if self.request.method == "POST" else tuple(ApiKey.Scope)
        return super().get_permissions()

    @extend_schema(operation_id="bank_cards_list", responses=s.BankCardOutput(many=True))
    def get(self, request: Request, customer_id: str) -> Response:
        customer = _customer(request, customer_id)
        default = bank_card_default(customer=customer)
        cards = bank_cards_of(customer=customer)
        body = [s.present_bank_card(card, default.pk if default else None) for card in cards]
        return Response(s.BankCardOutput(body, many=True).data)

    @extend_schema(
        operation_id="bank_card_attach",
        summary="Save a Stripe PaymentMethod (from Stripe.js) to the customer.",
        request=s.BankCardAttachInput,
        responses={201: s.BankCardOutput},
    )
    def post(self, request: Request, customer_id: str) -> Response:
        customer = _customer(request, customer_id)
        data = s.BankCardAttachInput(data=request.data)
        data.is_valid(raise_exception=True)
        card = bank_card_attach(
            customer=customer, payment_method_id=data.validated_data["payment_method"]
        )
        return Response(
            s.BankCardOutput(s.present_bank_card(card, None)).data, status=status.HTTP_201_CREATED
        )


class BankCardView(WalletView):
    allowed_scopes = ISSUERS

    @extend_schema(operation_id="bank_card_remove", responses={204: None})
    def delete(self, request: Request, customer_id: str, card_id: str) -> Response:
        card = bank_card_get(customer=_customer(request, customer_id), public_id=card_id)
        bank_card_remove(bank_card=card)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BankCardDefaultView(WalletView):
    allowed_scopes = ISSUERS

    @extend_schema(operation_id="bank_card_set_default", request=None, responses=s.BankCardOutput)
    def post(self, request: Request, customer_id: str, card_id: str) -> Response:
        card = bank_card_get(customer=_customer(request, customer_id), public_id=card_id)
        card = bank_card_set_default(bank_card=card)
        return Response(s.BankCardOutput(s.present_bank_card(card, card.pk)).data)
