"""Customer API: identify, profile, consent, one-time codes, and (staff only) merge and unmerge.

A till reaches a customer only after identifying them, and how strongly it did decides what it
may see and do (`customers.models.Strength`): a typed identifier gets the minimal profile and
one-time codes; consent needs the customer's own card in hand (LOYALTY: one can't opt a
stranger in by typing their email); the full profile needs WALLET, the default of
`customer_get_for_api_key`.
"""

from typing import Any
from uuid import UUID

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from customers.api.privacy_views import ConsentHistoryView
from customers.api.serializers import (
    AccessOutput,
    ConsentEventInput,
    ConsentEventOutput,
    ConsentOutput,
    CustomerMergeOutput,
    CustomerProfileOutput,
    IdentifyInput,
    IdentifyOutput,
    MergeInput,
    MinimalProfileOutput,
    PresentationCodeInput,
    PresentationCodeOutput,
    PresentationCodeVerifyInput,
    UnmergeInput,
)
from customers.errors import MergeNotFound
from customers.models import Channel, CustomerMerge, Strength
from customers.policy import PresentedIdentifier
from customers.presentation import (
    identifier_mask,
    presentation_code_send,
    presentation_code_verify,
)
from customers.selectors import (
    consent_current,
    customer_access_strength,
    customer_get_for_api_key,
    identifiers_live,
)
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
    """A customer's identifiers and current consents (a merged id answers with the survivor).

    A till short of the whole wallet's strength gets the minimal profile: the first name and
    masked identifiers, enough to greet the customer and pick where to send a one-time code.
    """

    @extend_schema(
        responses={
            200: PolymorphicProxySerializer(
                component_name="CustomerProfileAnyOutput",
                serializers={"full": CustomerProfileOutput, "minimal": MinimalProfileOutput},
                resource_type_field_name="profile",
            )
        },
        operation_id="customers_profile",
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        api_key = request_api_key(request)
        customer = customer_get_for_api_key(
            api_key=api_key, public_id=public_id, strength=Strength.WEAK
        )
        identifiers = identifiers_live(customer=customer)
        if customer_access_strength(api_key=api_key, customer=customer) != Strength.WALLET:
            minimal = {
                "profile": "minimal",
                "public_id": customer.public_id,
                "first_name": customer.first_name,
                "identifiers": [
                    {
                        "kind": row.kind,
                        "value": identifier_mask(kind=row.kind, value=row.value),
                        "verified": row.verified,
                    }
                    for row in identifiers
                ],
            }
            return Response(MinimalProfileOutput(minimal).data)
        profile = {
            "profile": "full",
            "public_id": customer.public_id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "created_at": customer.created_at,
            "identifiers": identifiers,
            "consents": ConsentOutput.rows(consent_current(customer=customer)),
        }
        return Response(CustomerProfileOutput(profile).data)


class ConsentCurrentView(APIView):
    """Current consent per purpose: the latest recorded change, or not given."""

    @extend_schema(responses=ConsentOutput(many=True), operation_id="customers_consents")
    def get(self, request: Request, public_id: UUID) -> Response:
        customer = customer_get_for_api_key(
            api_key=request_api_key(request), public_id=public_id, strength=Strength.LOYALTY
        )
        return Response(
            ConsentOutput(ConsentOutput.rows(consent_current(customer=customer)), many=True).data
        )


class ConsentRecordView(ConsentHistoryView):
    """Record a consent given or withdrawn (POST); the history, newest first (GET)."""

    @extend_schema(
        request=ConsentEventInput,
        responses={201: ConsentEventOutput},
        operation_id="customers_consent_record",
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        api_key = request_api_key(request)
        customer = customer_get_for_api_key(
            api_key=api_key, public_id=public_id, strength=Strength.LOYALTY
        )
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


class PresentationCodeSendView(APIView):
    """Send the customer a one-time code to read out, to spend their wallet at this till."""

    allowed_scopes = (ApiKey.Scope.TERMINAL,)

    @extend_schema(
        request=PresentationCodeInput,
        responses={201: PresentationCodeOutput},
        operation_id="customers_presentation_code_send",
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        api_key = request_api_key(request)
        customer = customer_get_for_api_key(
            api_key=api_key, public_id=public_id, strength=Strength.WEAK
        )
        data = _valid(PresentationCodeInput, request)
        sent = presentation_code_send(api_key=api_key, customer=customer, via=data["via"])
        return Response(PresentationCodeOutput(sent).data, status=status.HTTP_201_CREATED)


class PresentationCodeVerifyView(APIView):
    """Check the code the customer read out; right, and this till may spend their wallet."""

    allowed_scopes = (ApiKey.Scope.TERMINAL,)

    @extend_schema(
        request=PresentationCodeVerifyInput,
        responses=AccessOutput,
        operation_id="customers_presentation_code_verify",
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        api_key = request_api_key(request)
        customer = customer_get_for_api_key(
            api_key=api_key, public_id=public_id, strength=Strength.WEAK
        )
        data = _valid(PresentationCodeVerifyInput, request)
        grant = presentation_code_verify(api_key=api_key, customer=customer, code=data["code"])
        body = {
            "customer": grant.customer,
            "strength": Strength.WALLET.label,
            "wallet_strong_until": grant.wallet_strong_until,
            "expires_at": grant.expires_at,
        }
        return Response(AccessOutput(body).data)


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
