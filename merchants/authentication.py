from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from merchants.models import ApiKey
from merchants.selectors import api_key_authenticate


def request_api_key(request: Request) -> ApiKey:
    """The authenticated key of a request that passed `HasScopedApiKey`."""
    if not isinstance(request.auth, ApiKey):
        raise exceptions.NotAuthenticated()
    return request.auth


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>`; the request's user and auth are both the ApiKey."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKey, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw_key = header.partition(" ")
        if keyword != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed("Use the header 'Authorization: Bearer <key>'.")
        api_key = api_key_authenticate(raw_key=raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return api_key, api_key

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
