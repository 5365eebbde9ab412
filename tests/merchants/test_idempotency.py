"""One Idempotency-Key, one effect — also when the duplicates arrive at the same moment."""

import threading
import time

import pytest
from django.db import connection
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from config.errors import Unprocessable
from merchants.idempotency import idempotent
from merchants.models import ApiKey, IdempotencyRecord, Merchant
from merchants.services import api_key_issue


class _Refused(Unprocessable):
    """A refusal of the stand-in view (a test-only code, 422 like its family)."""

    code = "refused"


class _CreateMerchant(APIView):
    """A stand-in money-moving endpoint whose effect is countable: it creates a Merchant."""

    class Input(serializers.Serializer):
        name = serializers.CharField()
        delay = serializers.FloatField(default=0)

    @idempotent
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["name"] == "refuse":
            raise _Refused("refused")
        time.sleep(data.validated_data["delay"])
        merchant = Merchant.objects.create(name=data.validated_data["name"])
        return Response({"id": merchant.pk, "public_id": merchant.public_id}, status=201)


def _call(raw_key: str, body: dict, key: str | None = "k-1"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    request = APIRequestFactory().post("/x", body, format="json", **headers)
    return _CreateMerchant.as_view()(request)


@pytest.fixture
def raw_key(merchant) -> str:
    return api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")[1]


@pytest.mark.django_db
def test_retry_replays_the_first_response(raw_key) -> None:
    first = _call(raw_key, {"name": "A"})
    second = _call(raw_key, {"name": "A"})
    assert first.status_code == second.status_code == 201
    assert second.data == {"id": first.data["id"], "public_id": str(first.data["public_id"])}
    assert second["Idempotent-Replayed"] == "true"
    assert Merchant.objects.filter(name="A").count() == 1


@pytest.mark.django_db
def test_same_key_other_body_is_422(raw_key) -> None:
    _call(raw_key, {"name": "A"})
    response = _call(raw_key, {"name": "B"})
    assert response.status_code == 422
    assert response.data["code"] == "idempotency_key_reused"
    assert not Merchant.objects.filter(name="B").exists()


@pytest.mark.django_db
def test_missing_key_is_400_and_changes_nothing(raw_key) -> None:
    response = _call(raw_key, {"name": "A"}, key=None)
    assert response.status_code == 400
    assert response.data["code"] == "idempotency_key_required"
    assert not Merchant.objects.filter(name="A").exists()


@pytest.mark.django_db
def test_refusals_are_replayed_with_their_status(raw_key) -> None:
    assert _call(raw_key, {"name": "refuse"}).status_code == 422
    replay = _call(raw_key, {"name": "refuse"})
    assert replay.status_code == 422
    assert replay.data["code"] == "refused"


@pytest.mark.django_db
def test_keys_are_scoped_per_api_key(raw_key, merchant) -> None:
    other = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="other")[1]
    _call(raw_key, {"name": "A"})
    assert _call(other, {"name": "A"}).status_code == 201
    assert Merchant.objects.filter(name="A").count() == 2


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_duplicates_create_one_effect(merchant) -> None:
    raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")[1]
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            statuses.append(_call(raw, {"name": "Race", "delay": 0.3}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Merchant.objects.filter(name="Race").count() == 1
    assert sorted(set(statuses)) == [201], "duplicates wait for the first outcome and replay it"
    assert IdempotencyRecord.objects.get().status == IdempotencyRecord.Status.COMPLETED


class _Echo(APIView):
    """Refuses with an answer jsonb cannot hold as is: a NUL echoed from somewhere."""

    @idempotent
    def post(self, request):
        raise _Refused("refused \x00 and \ud800", field="name\x00")


class _Unstorable(APIView):
    """Answers with something no JSON encoder can store."""

    @idempotent
    def post(self, request):
        return Response({"value": object()}, status=200)


def _call_view(view: type[APIView], raw_key: str, key: str = "k-1"):
    request = APIRequestFactory().post(
        "/x",
        {"name": "A"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    return view.as_view()(request)


@pytest.mark.django_db
def test_an_answer_with_a_nul_is_stored_sanitised_and_replayed(raw_key) -> None:
    first = _call_view(_Echo, raw_key)
    assert first.status_code == 422
    record = IdempotencyRecord.objects.get()
    assert record.status == IdempotencyRecord.Status.COMPLETED
    assert record.response_body is not None
    assert record.response_body["detail"] == "refused \ufffd and \ufffd"
    assert record.response_body["field"] == "name\ufffd"
    replay = _call_view(_Echo, raw_key)
    assert replay.status_code == 422
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.data["code"] == "refused"


@pytest.mark.django_db
def test_an_answer_that_cannot_be_stored_releases_the_claim(raw_key) -> None:
    assert _call_view(_Unstorable, raw_key).status_code == 200
    assert not IdempotencyRecord.objects.exists(), "no key is left in progress"


@pytest.mark.django_db
def test_a_key_with_a_nul_is_refused(raw_key) -> None:
    response = _call_view(_Echo, raw_key, key="k\x00")
    assert response.status_code == 400
    assert response.data["code"] == "idempotency_key_required"
    assert not IdempotencyRecord.objects.exists()
