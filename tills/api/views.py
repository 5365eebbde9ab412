from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.actors import api_key_actor
from merchants.authentication import request_api_key
from merchants.idempotency import HEADER, idempotent
from merchants.models import ApiKey
from payments.api.views import IDEMPOTENCY_PARAMETER
from payments.offline_policy import offline_policy
from tills.api.serializers import (
    AllowanceOutput,
    AllowanceReleaseInput,
    AllowanceReserveInput,
    CashMoveInput,
    CashMovementOutput,
    OfflinePolicyOutput,
    SessionCloseInput,
    SessionOpenInput,
    SessionOutput,
)
from tills.errors import TillSessionNotFound
from tills.offline_value import offline_allowance_release, offline_allowance_reserve
from tills.selectors import offline_allowances_active, till_session_get
from tills.services import till_cash_move, till_session_close, till_session_open

TILL_SCOPES = (ApiKey.Scope.TERMINAL,)


class OfflinePolicyView(APIView):
    allowed_scopes = TILL_SCOPES

    @extend_schema(responses=OfflinePolicyOutput, operation_id="tills_offline_policy")
    def get(self, request: Request) -> Response:
        terminal_id = request_api_key(request).terminal_id
        assert terminal_id is not None
        body = {
            **offline_policy().as_json(),
            "allowances": offline_allowances_active(terminal_id=terminal_id),
        }
        return Response(OfflinePolicyOutput(body).data)


class AllowanceView(APIView):
    allowed_scopes = TILL_SCOPES

    @extend_schema(
        request=AllowanceReserveInput,
        responses={201: AllowanceOutput},
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="tills_offline_allowance_reserve",
        summary="Reserve (or renew) this till's allowance for gift cards taken offline.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = AllowanceReserveInput(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = request_api_key(request)
        allowance = offline_allowance_reserve(
            api_key=api_key, amount=data.validated_data["amount"], actor=api_key_actor(api_key)
        )
        return Response(AllowanceOutput(allowance).data, status=201)


class AllowanceReleaseView(APIView):
    allowed_scopes = TILL_SCOPES

    @extend_schema(
        request=AllowanceReleaseInput,
        responses={200: AllowanceOutput, 204: None},
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="tills_offline_allowance_release",
        summary="Give this till's allowance back to the float (204: there was none).",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = AllowanceReleaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = request_api_key(request)
        allowance = offline_allowance_release(
            api_key=api_key,
            currency=data.validated_data["currency"],
            actor=api_key_actor(api_key),
        )
        if allowance is None:
            return Response(status=204)
        return Response(AllowanceOutput(allowance).data)


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
