from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from merchants.authentication import request_api_key
from merchants.idempotency import HEADER, idempotent
from merchants.models import ApiKey
from payments.api.views import IDEMPOTENCY_PARAMETER
from payments.offline_policy import offline_policy
from tills.api.serializers import (
    CashMoveInput,
    CashMovementOutput,
    OfflinePolicyOutput,
    SessionCloseInput,
    SessionOpenInput,
    SessionOutput,
)
from tills.errors import TillSessionNotFound
from tills.selectors import till_session_get
from tills.services import till_cash_move, till_session_close, till_session_open

TILL_SCOPES = (ApiKey.Scope.TERMINAL,)


class OfflinePolicyView(APIView):
    allowed_scopes = TILL_SCOPES

    @extend_schema(responses=OfflinePolicyOutput, operation_id="tills_offline_policy")
    def get(self, request: Request) -> Response:
        return Response(OfflinePolicyOutput(offline_policy().as_json()).data)


class SessionCollectionView(APIView):
    allowed_scopes = TILL_SCOPES

    @extend_schema(
        request=SessionOpenInput,
        responses={201: SessionOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="till_sessions_open",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = SessionOpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = till_session_open(
            api_key=request_api_key(request), float_amount=data.validated_data["float"]
        )
        return Response(SessionOutput(session).data, status=201)


class SessionDetailView(APIView):
    allowed_scopes = TILL_SCOPES

    @extend_schema(responses=SessionOutput, operation_id="till_sessions_retrieve")
    def get(self, request: Request, session_id: str) -> Response:
        api_key = request_api_key(request)
        assert api_key.terminal_id is not None
        session = till_session_get(terminal_id=api_key.terminal_id, public_id=session_id)
        if session is None:
            raise TillSessionNotFound()
        return Response(SessionOutput(session).data)


class CashMoveView(APIView):
    allowed_scopes = TILL_SCOPES

    @extend_schema(
        request=CashMoveInput,
        responses={201: CashMovementOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="till_sessions_cash",
    )
    @idempotent
    def post(self, request: Request, session_id: str) -> Response:
        data = CashMoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        movement = till_cash_move(
            api_key=request_api_key(request),
            session_id=session_id,
            idempotency_key=request.headers[HEADER],
            kind=values["direction"],
            amount=values["amount"],
            reason=values["reason"],
        )
        return Response(CashMovementOutput(movement).data, status=201)


class SessionCloseView(APIView):
    allowed_scopes = TILL_SCOPES

    @extend_schema(
        request=SessionCloseInput,
        responses=SessionOutput,
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="till_sessions_close",
    )
    @idempotent
    def post(self, request: Request, session_id: str) -> Response:
        data = SessionCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = till_session_close(
            api_key=request_api_key(request), session_id=session_id, **data.validated_data
        )
        return Response(SessionOutput(session).data)
