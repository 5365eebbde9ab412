from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from merchants.models import ApiKey


class HasScopedApiKey(BasePermission):
    """An API key whose scope the view admits (`allowed_scopes`, default: every scope)."""

    message = "This API key's scope does not allow this operation."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ApiKey):
            return False
        allowed = getattr(view, "allowed_scopes", tuple(ApiKey.Scope))
        return request.auth.scope in allowed
