"""What every wallet view shares: the scopes that issue value, the schema's shared parameters and
responses, and the base views.
"""

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.actors import api_key_actor
from customers.models import Customer
from customers.selectors import customer_get_for_api_key
from merchants.authentication import request_api_key
from merchants.idempotency import HEADER
from merchants.models import ApiKey
from wallet.guessing import client_ip, code_guessing_guard

ISSUERS = (ApiKey.Scope.MERCHANT, ApiKey.Scope.STAFF)
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A retry with the same key returns the first result instead of moving money twice.",
)
LOCKED = OpenApiResponse(description="Too many wrong codes or PINs (`code_attempts_locked`).")


def _customer(request: Request, public_id: Any) -> Customer:
    return customer_get_for_api_key(api_key=request_api_key(request), public_id=public_id)


def _optional_customer(request: Request, public_id: Any) -> Customer | None:
    return None if public_id is None else _customer(request, public_id)


def _reference(request: Request) -> str:
    """The ledger reference of an idempotent request: its Idempotency-Key, scoped to the API
    key like the key itself, so two keys of one merchant never meet. A retry that takes over
    the claim of a request that crashed after committing finds the first issue or reload."""
    return f"api_key:{request_api_key(request).pk}:{request.headers[HEADER].strip()}"


def _actor(request: Request) -> str:
    return api_key_actor(request_api_key(request))


class WalletView(APIView):
    def guard(self, request: Request) -> Any:
        return code_guessing_guard(
            api_key_id=request_api_key(request).pk, client_ip=client_ip(request)
        )


class CodeIssueView(WalletView):
    """An idempotent issue whose answer carries a code that is shown once.

    Decision: the idempotency record must not keep the code in clear, so `issue` answers
    without it (`code: null, code_shown: false`) and that answer is what is recorded; only the
    request that issued adds the code (`code_shown: true`) on its way out. A replay answers the
    recorded instrument with `code: null, code_shown: false`: the code was shown on the first
    answer only, and a lost first answer means a lost code (block the instrument, issue again).
    """

    shown_code: str | None = None

    def answer_with_code(self, request: Request, issue: Callable[..., Response]) -> Response:
        self.shown_code = None
        response = issue(self, request)
        if self.shown_code is None:  # a replay or a refusal
            return response
        body = {**response.data, "code": self.shown_code, "code_shown": True}
        return Response(body, status=response.status_code)
