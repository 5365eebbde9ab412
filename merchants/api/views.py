from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from merchants.api.serializers import ApiKeyIdentityOutput
from merchants.authentication import request_api_key


class MeView(APIView):
    """What the presented key is: its scope, merchant, and for a till its store and terminal."""

    @extend_schema(responses=ApiKeyIdentityOutput, operation_id="me")
    def get(self, request: Request) -> Response:
        return Response(ApiKeyIdentityOutput(request_api_key(request)).data)
