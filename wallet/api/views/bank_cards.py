"""Saved bank cards: list and save (through Stripe), read and remove, choose the default."""

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from merchants.models import ApiKey
from wallet.api import serializers as s
from wallet.api.views.common import ISSUERS, WalletView, _customer
from wallet.selectors import (
    bank_card_default,
    bank_card_get,
    bank_cards_of,
)
from wallet.services import (
    bank_card_attach,
    bank_card_remove,
    bank_card_set_default,
)


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
