"""Privacy API: export (merchant or staff key), erasure (staff key, Idempotency-Key) and the
consent history. An erased customer answers 410 `customer_erased`, except to erasure, which
answers the same erasure record again."""

from uuid import UUID

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.actors import api_key_actor
from config.api.pagination import NewestFirstPagination
from customers.api.privacy_serializers import (
    ConsentHistoryEventOutput,
    ConsentHistoryOutput,
    ErasureInput,
    ErasureOutput,
)
from customers.models import CustomerErasure, Strength
from customers.privacy.export import customer_export_chunks
from customers.selectors import (
    consent_events,
    customer_get_for_api_key,
    customer_get_including_erased,
)
from customers.services import customer_erase
from merchants.authentication import request_api_key
from merchants.idempotency import HEADER, idempotent
from merchants.models import ApiKey

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A retry with the same key returns the first answer.",
)


class CustomerExportView(APIView):
    """Everything held on the customer, one JSON document (streamed)."""

    allowed_scopes = (ApiKey.Scope.MERCHANT, ApiKey.Scope.STAFF)

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="customers_export")
    def get(self, request: Request, public_id: UUID) -> StreamingHttpResponse:
        customer = customer_get_for_api_key(api_key=request_api_key(request), public_id=public_id)
        response = StreamingHttpResponse(
            customer_export_chunks(customer=customer), content_type="application/json"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="customer-{customer.public_id}.json"'
        )
        return response


class CustomerErasureView(APIView):
    """Back office: erase the customer's personal data (payments and ledger stay)."""

    allowed_scopes = (ApiKey.Scope.STAFF,)

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=ErasureInput,
        responses={200: ErasureOutput, 202: ErasureOutput},
        operation_id="customers_erase",
    )
    @idempotent
    def post(self, request: Request, public_id: UUID) -> Response:
        api_key = request_api_key(request)
        customer = customer_get_including_erased(api_key=api_key, public_id=public_id)
        data = ErasureInput(data=request.data)
        data.is_valid(raise_exception=True)
        erasure = customer_erase(
            customer=customer,
            reason=data.validated_data["reason"],
            stored_value=data.validated_data.get("stored_value"),
            actor=api_key_actor(api_key),
        )
        done = erasure.status == CustomerErasure.Status.COMPLETED
        return Response(
            ErasureOutput(erasure).data,
            status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED,
        )


class ConsentHistoryPagination(NewestFirstPagination):
    ordering = ("-recorded_at", "-id")  # type: ignore[assignment]


class ConsentHistoryView(APIView):
    """Every consent given or withdrawn, newest first (cursor-paginated)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, OpenApiParameter.QUERY, required=False),
            OpenApiParameter("page_size", int, OpenApiParameter.QUERY, required=False),
        ],
        responses=ConsentHistoryOutput,
        operation_id="customers_consent_history",
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        customer = customer_get_for_api_key(
            api_key=request_api_key(request), public_id=public_id, strength=Strength.LOYALTY
        )
        paginator = ConsentHistoryPagination()
        page = paginator.paginate_queryset(consent_events(customer=customer), request, view=self)
        body = {
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": ConsentHistoryEventOutput(page or [], many=True).data,
        }
        return Response(body)
