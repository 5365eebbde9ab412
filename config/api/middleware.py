"""Under /api/ every answer is JSON in the one error shape, whatever went wrong where."""

import logging
from collections.abc import Callable

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.api.errors import django_error, kassa_error_body
from config.api.parsers import UNSAFE_CHARACTERS
from config.errors import InvalidCharacters, KassaError, ServerError

logger = logging.getLogger("django.request")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_json(error: KassaError) -> JsonResponse:
    return JsonResponse(kassa_error_body(error), status=error.status)


class ApiGuardMiddleware:
    """Refuses query strings PostgreSQL cannot compare (a NUL in `?status=`) before any view,
    and turns what escapes an API view into JSON, in DEBUG too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            for name, values in request.GET.lists():
                if UNSAFE_CHARACTERS.search(name) or any(map(UNSAFE_CHARACTERS.search, values)):
                    field = None if UNSAFE_CHARACTERS.search(name) else name
                    return error_json(InvalidCharacters(field=field))
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api(request):
            return None
        if (error := django_error(exception)) is not None:
            return error_json(error)
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        got_request_exception.send(sender=type(self), request=request)
        return error_json(ServerError())
