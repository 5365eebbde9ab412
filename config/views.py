from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.api.errors import error_body


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


def _api_or_page(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(code, detail), status=status)
    return render(request, f"config/{status}.html", status=status)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _api_or_page(request, 404, "not_found", "No such endpoint.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _api_or_page(request, 500, "server_error", "Internal error; nothing was committed.")
