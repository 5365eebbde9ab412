"""Customer API: identify, profile, consent, and (staff only) merge and unmerge."""

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from config.errors import NotFound
from customers.api.serializers import (
    ConsentEventInput,
    ConsentEventOutput,
    ConsentOutput,
    CustomerMergeOutput,
    CustomerProfileOutput,
    IdentifyInput,
    IdentifyOutput,
    MergeInput,
    UnmergeInput,
)
from customers.models import Channel, CustomerMerge
from customers.policy import PresentedIdentifier
from customers.selectors import consent_current, customer_get_for_api_key, identifiers_live
from customers.services import (
    Outcome,
    api_key_actor,
    consent_record,
    customer_identify,
    customer_merge,
    customer_unmerge,
)
from merchants.authentication import request_api_key
from merchants.models import ApiKey

_CHANNEL_OF_SCOPE = {
    ApiKey.Scope.TERMINAL: Channel.POS,
    ApiKey.Scope.MERCHANT: Channel.WEB,
    ApiKey.Scope.STAFF: Channel.BACK_OFFICE,
}


class MergeNotFound(NotFound):
    code = "merge_not_found"
    default_detail = "No such merge."


def _valid(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class IdentifyView(APIView):
    """A touchpoint presents identifiers; answer the one customer behind them."""

    @extend_schema(
        request=IdentifyInput,
        responses={200: IdentifyOutput, 201: IdentifyOutput},
        operation_id="customers_identify",
    )
    def post(self, request: Request) -> Response:
        data = _valid(IdentifyInput, request)
        api_key = request_api_key(request)
        identification = customer_identify(
            merchant=api_key.merchant,
            identifiers=[PresentedIdentifier(**item) for item in data["identifiers"]],
            channel=data.get("channel") or _CHANNEL_OF_SCOPE[ApiKey.Scope(api_key.scope)],
            create=data["create"],
            api_key=api_key,
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
        )
        created = identification.outcome == Outcome.CREATED
        return Response(
            IdentifyOutput(identification).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CustomerProfileView(APIView):
    """A customer's identifiers and current consents (a merged id answers with the survivor)."""

    @extend_schema(responses=CustomerProfileOutput, operation_id="customers_profile")
    def get(self, request: Request, public_id: UUID) -> Response:
        customer = customer_get_for_api_key(api_key=request_api_key(request), public_id=public_id)
        profile = {
            "public_id": customer.public_id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "created_at": customer.created_at,
            "identifiers": identifiers_live(customer=customer),
            "consents": ConsentOutput.rows(consent_current(customer=customer)),
        }
        return Response(CustomerProfileOutput(profile).data)


class ConsentCurrentView(APIView):
    """Current consent per purpose: the latest recorded change, or not given."""

    @extend_schema(responses=ConsentOutput(many=True), operation_id="customers_consents")
    def get(self, request: Request, public_id: UUID) -> Response:
        customer = customer_get_for_api_key(api_key=request_api_key(request), public_id=public_id)
        return Response(
            ConsentOutput(ConsentOutput.rows(consent_current(customer=customer)), many=True).data
        )


class ConsentRecordView(APIView):
    """Record a consent given or withdrawn; history is kept, never rewritten."""

    @extend_schema(
        request=ConsentEventInput,
        responses={201: ConsentEventOutput},
        operation_id="customers_consent_record",
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        api_key = request_api_key(request)
        customer = customer_get_for_api_key(api_key=api_key, public_id=public_id)
        data = _valid(ConsentEventInput, request)
        event = consent_record(
            customer=customer,
            purpose=data["purpose"],
            granted=data["granted"],
            channel=data.get("channel") or _CHANNEL_OF_SCOPE[ApiKey.Scope(api_key.scope)],
            evidence=data["evidence"],
            api_key=api_key,
        )
        return Response(ConsentEventOutput(event).data, status=status.HTTP_201_CREATED)


class MergeView(APIView):
    """Back office: merge one customer into another."""

    allowed_scopes = (ApiKey.Scope.STAFF,)

    @extend_schema(
        request=MergeInput, responses={201: CustomerMergeOutput}, operation_id="customers_merge"
    )
    def post(self, request: Request) -> Response:
        api_key = request_api_key(request)
        data = _valid(MergeInput, request)
        survivor = customer_get_for_api_key(api_key=api_key, public_id=data["survivor"])
        absorbed = customer_get_for_api_key(api_key=api_key, public_id=data["absorbed"])
        merge = customer_merge(
            survivor=survivor,
            absorbed=absorbed,
            reason=data["reason"],
            source=CustomerMerge.Source.STAFF_API,
            actor=api_key_actor(api_key),
            api_key=api_key,
        )
        return Response(CustomerMergeOutput(merge).data, status=status.HTTP_201_CREATED)


class UnmergeView(APIView):
    """Back office: undo a merge while nothing newer depends on it."""

    allowed_scopes = (ApiKey.Scope.STAFF,)

    @extend_schema(
        request=UnmergeInput, responses=CustomerMergeOutput, operation_id="customers_unmerge"
    )
    def post(self, request: Request, merge_id: UUID) -> Response:
        api_key = request_api_key(request)
        data = _valid(UnmergeInput, request)
        merge = (
            CustomerMerge.objects.filter(merchant_id=api_key.merchant_id, public_id=merge_id)
            .select_related("survivor", "absorbed")
            .first()
        )
        if merge is None:
            raise MergeNotFound(field="merge_id")
        merge = customer_unmerge(merge=merge, reason=data["reason"], actor=api_key_actor(api_key))
        return Response(CustomerMergeOutput(merge).data)
