"""Prometheus metrics: request latency per endpoint from every gunicorn worker, and the state
of money (payments by status, stuck payments), task lag and the last ledger check read from the
database at scrape time.

Under gunicorn each worker is a process: with `PROMETHEUS_MULTIPROC_DIR` set (the topology and
the Dockerfile set it) the histograms are shared through files there, so any worker answers a
scrape with the whole server's figures.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.tasks import HEARTBEAT_KEY, LEDGER_CHECK_KEY

REQUEST_LATENCY = Histogram(
    "kassa_http_request_duration_seconds",
    "Time to answer a request, per route pattern, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_LOOPBACK = {"127.0.0.1", "::1"}


class MetricsMiddleware:
    """Times every request; the label is the URL pattern, so ids do not explode the series."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = match.route if match is not None else "unmatched"
        REQUEST_LATENCY.labels(route or "/", request.method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


class StateCollector(Collector):
    """Gauges read at scrape time: the database and the cache are the truth, not a process."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from payments.models import Payment
        from payments.services.recovery import payments_needing_recovery

        by_status = GaugeMetricFamily("kassa_payments", "Payments by status.", labels=["status"])
        counts = dict(
            Payment.objects.values_list("status").annotate(n=Count("pk")).order_by("status")
        )
        for status in Payment.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        yield GaugeMetricFamily(
            "kassa_payments_stuck",
            "Payments the recovery task would pick up now (stuck mid-way, expired, capture due).",
            value=_count(payments_needing_recovery()),
        )
        heartbeat = cache.get(HEARTBEAT_KEY)
        if heartbeat is not None:
            yield GaugeMetricFamily(
                "kassa_task_lag_seconds",
                "Queue lag of the last heartbeat task: from sending to running.",
                value=heartbeat["lag_seconds"],
            )
            yield GaugeMetricFamily(
                "kassa_task_heartbeat_age_seconds",
                "Seconds since a worker last ran the heartbeat (grows when beat or workers stop).",
                value=time.time() - heartbeat["at"],
            )
        ledger = cache.get(LEDGER_CHECK_KEY)
        if ledger is not None:
            yield GaugeMetricFamily(
                "kassa_ledger_check_ok",
                "1 when the last ledger check found no problem.",
                value=1 if ledger["ok"] else 0,
            )
            yield GaugeMetricFamily(
                "kassa_ledger_check_problems",
                "Problems the last ledger check found.",
                value=ledger["problems"],
            )
            yield GaugeMetricFamily(
                "kassa_ledger_check_timestamp_seconds",
                "When the last ledger check ran.",
                value=ledger["at"],
            )


def _count(rows: Iterable[object]) -> int:
    return rows.count() if isinstance(rows, QuerySet) else sum(1 for _ in rows)


def scrape_allowed(request: HttpRequest) -> bool:
    """With KASSA_METRICS_TOKEN, a matching bearer token; without, a direct loopback caller only
    (a request through the load balancer carries X-Forwarded-For and is refused)."""
    token = settings.KASSA_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    forwarded = "X-Forwarded-For" in request.headers
    return request.META.get("REMOTE_ADDR") in _LOOPBACK and not forwarded


def render() -> HttpResponse:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_LATENCY)
    registry.register(StateCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
