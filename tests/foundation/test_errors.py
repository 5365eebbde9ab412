"""Every API error has one shape: a stable code, a detail, the failing field, and the list."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient, APIRequestFactory

from config.api.errors import exception_handler
from config.api.fields import MoneyField
from config.errors import KassaError


def _assert_shape(body: dict) -> None:
    assert set(body) >= {"code", "detail", "field", "errors"}
    assert body["errors"], "the errors list always holds at least the top-level error"
    assert body["errors"][0]["code"] == body["code"]


@pytest.mark.django_db
def test_missing_key_is_401_not_authenticated() -> None:
    response = APIClient().get("/api/v1/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    _assert_shape(response.json())
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer kassa_m_nope", "Token abc", "Bearer "])
def test_bad_key_is_401_authentication_failed(header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(merchant_api) -> None:
    response = merchant_api.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_wrong_method_is_405(merchant_api) -> None:
    response = merchant_api.post("/api/v1/me", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


class _Nested(serializers.Serializer):
    amount = MoneyField()


class _Basket(serializers.Serializer):
    reference = serializers.CharField()
    lines = _Nested(many=True)


def test_validation_errors_are_flattened_with_field_paths() -> None:
    serializer = _Basket(
        data={
            "lines": [
                {"amount": {"amount": "1.00", "currency": "EUR"}},
                {"amount": {"amount": "1.001", "currency": "EUR"}},
            ]
        }
    )
    assert not serializer.is_valid()
    request = APIRequestFactory().post("/")
    response = exception_handler(
        serializers.ValidationError(serializer.errors), {"request": request}
    )
    assert response is not None
    assert response.status_code == 400
    by_field = {error["field"]: error["code"] for error in response.data["errors"]}
    assert by_field == {"reference": "required", "lines[1].amount": "amount_too_precise"}
    _assert_shape(response.data)


def test_domain_errors_keep_their_code_status_and_meta() -> None:
    class InsufficientFunds(KassaError):
        code = "insufficient_funds"
        status = 402

    error = InsufficientFunds("Not enough.", field="tenders[1]", meta={"available": "3.00"})
    response = exception_handler(error, {})
    assert response is not None
    assert response.status_code == 402
    assert response.data["code"] == "insufficient_funds"
    assert response.data["field"] == "tenders[1]"
    assert response.data["meta"] == {"available": "3.00"}
    _assert_shape(response.data)
