"""Bearer-key authentication, from a short per-process cache.

A key found live is remembered for `KASSA_API_KEY_CACHE_SECONDS` (default 5 s) by the SHA-256 of
the presented key, so a request does not read the key, its merchant, terminal and store again:
revoking a key, or deactivating its terminal, takes effect in every process within that many
seconds. Unknown keys are never cached, so a key just issued works at once. Set the setting to 0
to read the key on every request.
"""

import time
from typing import Any

from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from merchants.models import ApiKey
from merchants.selectors import api_key_authenticate
from merchants.services import api_key_hash

DEFAULT_CACHE_SECONDS = 5.0
_MAX_ENTRIES = 10_000
_cache: dict[str, tuple[float, ApiKey]] = {}


def api_key_cache_clear() -> None:
    _cache.clear()


def api_key_cached(*, raw_key: str) -> ApiKey | None:
    """The live key for `raw_key`, from the cache while it is fresh."""
    ttl = float(getattr(settings, "KASSA_API_KEY_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
    digest = api_key_hash(raw_key)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    api_key = api_key_authenticate(raw_key=raw_key)
    if api_key is None or ttl <= 0:
        _cache.pop(digest, None)
        return api_key
    if len(_cache) >= _MAX_ENTRIES:
        _cache.clear()
    _cache[digest] = (now + ttl, api_key)
    return api_key


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
        api_key = api_key_cached(raw_key=raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return api_key, api_key

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
