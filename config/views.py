import os

import httpx
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from config.api.errors import django_error
from config.api.middleware import error_json, is_api
from config.errors import BadRequest, Forbidden, NotFound, ServerError
from config.metrics import render as render_metrics
from config.metrics import scrape_allowed

READY_TIMEOUT_SECONDS = 2.0


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """What the load balancer checks: the process answers and its database does too. While the
    drain file (KASSA_DRAIN_FILE) exists it answers 503, so the balancer stops sending new
    requests before a deploy stops this server."""
    drain_file = settings.KASSA_DRAIN_FILE
    if drain_file and os.path.exists(drain_file):
        return JsonResponse({"status": "draining"}, status=503)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return JsonResponse({"status": "unavailable", "database": str(error)[:200]}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:
    """No broker configured means tasks run eagerly in-process: nothing to reach."""
    if not settings.CELERY_BROKER_URL:
        return
    from config.celery import app

    with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=READY_TIMEOUT_SECONDS)


def _check_stripe() -> None:
    """Any HTTP answer from the API base (401 without a key) means Stripe is reachable."""
    httpx.get(settings.STRIPE_API_BASE, timeout=READY_TIMEOUT_SECONDS)


READY_CHECKS = {"database": _check_database, "broker": _check_broker, "stripe": _check_stripe}


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database, the broker and Stripe answer. A 503 names each failing
    component with its error, so an operator reads the cause from the load balancer's log."""
    checks: dict[str, str] = {}
    for name, check in READY_CHECKS.items():
        try:
            check()
        except Exception as error:
            checks[name] = f"{type(error).__name__}: {str(error)[:200]}"
        else:
            checks[name] = "ok"
    failing = [name for name, outcome in checks.items() if outcome != "ok"]
    status = 503 if failing else 200
    return JsonResponse(
        {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks},
        status=status,
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for loopback scrapers or holders of KASSA_METRICS_TOKEN."""
    if not scrape_allowed(request):
        return JsonResponse({"status": "forbidden"}, status=403)
    return render_metrics()


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
