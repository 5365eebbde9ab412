"""A customer's wallet and loyalty accounts with their history."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.pagination import NewestFirstPagination
from wallet.api import serializers as s
from wallet.api.views.common import WalletView, _customer
from wallet.selectors import (
    customer_wallet,
    loyalty_account_get,
    loyalty_history,
)


class CustomerWalletView(WalletView):
    @extend_schema(
        operation_id="wallet_retrieve",
        summary="Every instrument of a customer, with available and held balances.",
        responses=s.WalletOutput,
    )
    def get(self, request: Request, customer_id: str) -> Response:
        wallet = customer_wallet(customer=_customer(request, customer_id))
        return Response(s.WalletOutput(s.present_wallet(wallet)).data)


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
