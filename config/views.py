from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from config.api.errors import django_error
from config.api.middleware import error_json, is_api
from config.errors import BadRequest, Forbidden, NotFound, ServerError


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness in one: the process answers and its database does too."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return JsonResponse({"status": "unavailable", "database": str(error)[:200]}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "config/home.html")


@csrf_exempt
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Also the catch-all under /api/: exempt from CSRF so a POST gets 404, not an HTML 403."""
    if is_api(request):
        return error_json(NotFound("No such endpoint."))
    return render(request, "config/404.html", status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_json(django_error(exception) or BadRequest())
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_json(Forbidden())
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return error_json(ServerError())
    return render(request, "config/500.html", status=500)
