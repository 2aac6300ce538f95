"""Prometheus metrics of the server (``GET /metrics``), with ``prometheus_client``.

Requests, errors and latency are labelled by route template (``/v1/models/{name}/predict``), not
by raw path, so a client cannot blow up the number of series. With several uvicorn workers the
CLI sets ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds up every worker's counts.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServeMetrics:
    """The counters and histogram of one app (its own registry, so apps in one process coexist)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("embedlab_http_requests", "HTTP requests by method, route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.errors = Counter("embedlab_http_errors", "HTTP responses with status >= 400",
                              ["route", "status"], registry=self.registry)
        self.latency = Histogram("embedlab_http_request_duration_seconds",
                                 "time from request to the end of the response, in the server",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.texts = Counter("embedlab_texts_predicted", "texts predicted, by model", ["model"],
                             registry=self.registry)
        self.explained = Counter("embedlab_texts_explained", "texts explained, by model and method",
                                 ["model", "method"], registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if status >= 400:
            self.errors.labels(route, str(status)).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition (all workers' metrics in multi-process mode)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware: one observation per HTTP request, labelled by the matched route."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - start)
