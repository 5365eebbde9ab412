"""Settlements for finance systems: staff keys only, cursor-paginated, newest day first."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import NewestFirstPagination
from merchants.authentication import request_api_key
from merchants.models import ApiKey, Terminal
from reconciliation.api.serializers import SettlementFilter, SettlementOutput
from reconciliation.errors import InvalidDateRange, StoreNotFound, TillNotFound
from reconciliation.selectors import settlement_list


class SettlementPagination(NewestFirstPagination):
    ordering = ("-business_day", "-id")  # type: ignore[assignment]  # DRF takes a tuple too


class SettlementCollectionView(APIView):
    allowed_scopes = (ApiKey.Scope.STAFF,)
    pagination_class = SettlementPagination

    @extend_schema(
        parameters=[SettlementFilter],
        responses=SettlementOutput(many=True),
        operation_id="settlements_list",
    )
    def get(self, request: Request) -> Response:
        filters = SettlementFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        merchant = request_api_key(request).merchant
        store = None
        if "store" in values:
            store = merchant.stores.filter(code=values["store"]).first()
            if store is None:
                raise StoreNotFound(field="store")
        if "till" in values:
            tills = Terminal.objects.filter(store__merchant=merchant, code=values["till"])
            if store is not None:
                tills = tills.filter(store=store)
            if not tills.exists():
                raise TillNotFound(field="till")
        if values.get("from") and values.get("to") and values["from"] > values["to"]:
            raise InvalidDateRange(field="from")
        rows = settlement_list(
            merchant=merchant,
            store=store,
            day_from=values.get("from"),
            day_to=values.get("to"),
            terminal_code=values.get("till"),
            channel=values.get("channel"),
            method=values.get("method"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(SettlementOutput(page, many=True).data)
