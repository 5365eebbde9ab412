"""The shared bounded fields and pagination refuse what is over the limits, naming the limit."""

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from config import limits
from config.api.fields import AMOUNT_PATTERN, MoneyField, PointsField, QuantityField
from config.api.pagination import NewestFirstPagination
from merchants.models import Merchant


class _Input(serializers.Serializer):
    quantity = QuantityField(required=False)
    points = PointsField(required=False)
    adjustment = PointsField(required=False, min_value=-limits.MAX_POINTS)
    price = MoneyField(required=False)


class _Echo(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(request=_Input, responses={200: _Input})
    def post(self, request):
        data = _Input(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"ok": True})


class _Merchants(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        paginator = NewestFirstPagination()
        page = paginator.paginate_queryset(Merchant.objects.all(), request, view=self)
        return paginator.get_paginated_response([merchant.name for merchant in page or []])


def _post(body: dict):
    return _Echo.as_view()(APIRequestFactory().post("/x", body, format="json"))


def _list(query: str = ""):
    return _Merchants.as_view()(APIRequestFactory().get(f"/x{query}"))


@pytest.mark.parametrize(
    ("body", "field", "code", "maximum"),
    [
        ({"quantity": limits.MAX_QUANTITY + 1}, "quantity", "quantity_too_large", 9999),
        ({"quantity": 10**40}, "quantity", "quantity_too_large", 9999),
        ({"points": limits.MAX_POINTS + 1}, "points", "points_too_large", 100_000_000),
        ({"adjustment": -limits.MAX_POINTS - 1}, "adjustment", "points_too_large", 100_000_000),
    ],
)
def test_bounded_integers_refuse_above_the_maximum(
    body: dict, field: str, code: str, maximum: int
) -> None:
    response = _post(body)
    assert response.status_code == 400
    assert response.data["code"] == code
    assert response.data["field"] == field
    assert response.data["meta"] == {"maximum": maximum}
    assert response.data["errors"][0]["meta"] == {"maximum": maximum}


@pytest.mark.parametrize("value", ["5", "\uff15", 5.0, True, None])
def test_bounded_integers_take_json_integers_only(value: object) -> None:
    response = _post({"quantity": value})
    assert response.status_code == 400
    assert response.data["field"] == "quantity"
    assert response.data["code"] in {"invalid", "null"}


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": limits.MAX_QUANTITY, "points": limits.MAX_POINTS},
        {"quantity": 1, "adjustment": -limits.MAX_POINTS},
    ],
)
def test_bounded_integers_accept_the_limits_themselves(body: dict) -> None:
    assert _post(body).status_code == 200


def test_quantity_below_one_is_refused() -> None:
    response = _post({"quantity": 0})
    assert response.status_code == 400
    assert response.data["code"] == "min_value"


def test_schema_carries_the_bounds_and_the_amount_pattern() -> None:
    generator = SchemaGenerator(patterns=[path("api/v1/echo", _Echo.as_view())])
    components = generator.get_schema(request=None, public=True)["components"]["schemas"]
    properties = components["_InputRequest"]["properties"]
    assert (properties["quantity"]["minimum"], properties["quantity"]["maximum"]) == (
        1,
        limits.MAX_QUANTITY,
    )
    assert properties["points"]["maximum"] == limits.MAX_POINTS
    assert properties["adjustment"]["minimum"] == -limits.MAX_POINTS
    amount = properties["price"]["properties"]["amount"]
    assert amount["pattern"] == AMOUNT_PATTERN
    assert amount["maxLength"] == 32


@pytest.mark.django_db
def test_pages_default_to_the_default_size_newest_first() -> None:
    Merchant.objects.bulk_create(Merchant(name=f"m{i}") for i in range(30))
    response = _list()
    assert response.status_code == 200
    assert len(response.data["results"]) == limits.DEFAULT_PAGE_SIZE
    assert response.data["next"]
    assert len(_list("?page_size=3").data["results"]) == 3
    assert len(_list(f"?page_size={limits.MAX_PAGE_SIZE}").data["results"]) == 30


@pytest.mark.django_db
def test_page_size_above_the_maximum_is_refused() -> None:
    response = _list(f"?page_size={limits.MAX_PAGE_SIZE + 1}")
    assert response.status_code == 400
    assert response.data["code"] == "page_size_too_large"
    assert response.data["field"] == "page_size"
    assert response.data["meta"] == {"maximum": limits.MAX_PAGE_SIZE}


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e2", "\uff15", "9" * 50])
def test_page_size_must_be_a_positive_number(value: str) -> None:
    response = _list(f"?page_size={value}")
    assert response.status_code == 400
    assert response.data["code"] == "invalid_page_size"
