"""Touchpoint events in, offers out, feedback on offers. Thin: the services decide."""

from dataclasses import asdict
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Strength
from customers.selectors import customer_get_for_api_key
from insights.api.serializers import (
    EventsInput,
    EventsOutput,
    FeedbackInput,
    FeedbackOutput,
    OffersOutput,
    OffersQuery,
    offers_output,
)
from insights.selectors import offers_for
from insights.services import Event, events_record, offer_feedback_record
from merchants.authentication import request_api_key


class EventsView(APIView):
    """A batch of touchpoint events (up to 500)."""

    @extend_schema(request=EventsInput, responses={202: EventsOutput}, operation_id="events_record")
    def post(self, request: Request) -> Response:
        serializer = EventsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        events = [
            Event(
                kind=item["kind"],
                occurred_at=item["occurred_at"],
                customer=item.get("customer"),
                identifiers=tuple(
                    (identifier["kind"], identifier["value"])
                    for identifier in item.get("identifiers") or []
                ),
                device_id=item["device_id"],
                sku=item["sku"],
                detail=item["detail"],
            )
            for item in serializer.validated_data["events"]
        ]
        outcome = events_record(merchant=request_api_key(request).merchant, events=events)
        return Response(EventsOutput(asdict(outcome)).data, status=status.HTTP_202_ACCEPTED)


class OffersView(APIView):
    """The customer's precomputed offers; popular ones without `personalisation` consent."""

    @extend_schema(parameters=[OffersQuery], responses=OffersOutput, operation_id="offers_list")
    def get(self, request: Request, public_id: UUID) -> Response:
        query = OffersQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = customer_get_for_api_key(
            api_key=request_api_key(request), public_id=public_id, strength=Strength.LOYALTY
        )
        personalised, offers = offers_for(
            customer=customer,
            channel=query.validated_data["channel"],
            limit=query.validated_data["limit"],
        )
        return Response(offers_output(personalised=personalised, offers=offers))


class OfferFeedbackView(APIView):
    """not_interested (never offered again), clicked or redeemed."""

    @extend_schema(
        request=FeedbackInput, responses={201: FeedbackOutput}, operation_id="offers_feedback"
    )
    def post(self, request: Request, public_id: UUID, sku: str) -> Response:
        data = FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_get_for_api_key(
            api_key=request_api_key(request), public_id=public_id, strength=Strength.LOYALTY
        )
        feedback = offer_feedback_record(
            customer=customer, sku=sku, kind=data.validated_data["kind"]
        )
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)
