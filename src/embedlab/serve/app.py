"""The FastAPI application: model cards, prediction, explanations, Prometheus metrics, a web page.

``create_app(["runs/ag-cnn", "trec=runs/trec-cnn"])`` loads and verifies every run once, then
assembles the app from the routers in :mod:`embedlab.serve.routes`, the error handlers of
:mod:`embedlab.serve.errors` and two middlewares (body limit, metrics). Prediction and explanation
endpoints are plain ``def`` functions, so FastAPI runs them in its thread pool and the event loop
keeps answering other requests (health checks, metrics) meanwhile. Every error is JSON
``{"detail": "<one line>"}`` (422s also list ``errors``); bad input is never a 500.
``/docs`` (Swagger UI) and ``/redoc`` load their assets from this server, not a CDN
(:mod:`.routes.docs`).
``embedlab serve`` runs it under uvicorn.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from fastapi import FastAPI

from embedlab import __version__
from embedlab.serve.body_limit import BodyLimitMiddleware
from embedlab.serve.errors import install_error_handlers
from embedlab.serve.metrics import MetricsMiddleware, ServeMetrics
from embedlab.serve.models import ServedModel, load_served_models
from embedlab.serve.routes import cards, docs, explain, health, page, predict
from embedlab.serve.schemas import ServeLimits, request_models

ENV_CONFIG = "EMBEDLAB_SERVE_CONFIG"


def create_app(run_dirs: Mapping[str, str | Path] | Iterable[str | Path], *,
               limits: ServeLimits | None = None, torch_threads: int | None = None,
               warm_up: bool = True) -> FastAPI:
    """Load the runs (``PATH``, ``NAME=PATH`` or a name → path mapping) and build the app.

    A missing, incomplete or altered run, or one whose weights are not finite, raises
    :class:`embedlab.ArtifactError` naming the reason.
    ``torch_threads`` bounds torch's intra-op threads in this process.
    """
    limits = limits or ServeLimits()
    if torch_threads is not None:
        import torch

        torch.set_num_threads(max(1, int(torch_threads)))
    models: dict[str, ServedModel] = load_served_models(run_dirs, warm_up=warm_up)
    metrics = ServeMetrics()
    from embedlab.explain.explainer import METHODS

    predict_request, explain_request = request_models(limits, ["auto", *METHODS])
    # /docs and /redoc are served by routes/docs.py with their assets from a package (no CDN)
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        title="embedlab",
        version=__version__,
        description="Text classifiers trained with embedlab: model cards, predictions, explanations. "
        f"Limits: {limits.max_texts} texts per request, {limits.max_chars} characters per text, "
        f"{limits.max_body_bytes} bytes per request body.",
    )
    app.state.models = models
    app.state.limits = limits
    app.state.metrics = metrics
    app.add_middleware(BodyLimitMiddleware, max_bytes=limits.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_error_handlers(app, limits)
    for router in (page.router(), health.router(models), cards.router(models),
                   predict.router(models, metrics, predict_request),
                   explain.router(models, metrics, explain_request),
                   health.metrics_router(metrics), docs.router(app.openapi_url or "", app.title)):
        app.include_router(router)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` in each worker process: the CLI puts the runs, limits
    and thread count in ``EMBEDLAB_SERVE_CONFIG`` (JSON) before starting the workers."""
    raw = os.environ.get(ENV_CONFIG)
    if not raw:
        raise RuntimeError(f"{ENV_CONFIG} is not set: start the server with `embedlab serve`")
    cfg = json.loads(raw)
    return create_app(cfg["models"], limits=ServeLimits(**cfg["limits"]),
                      torch_threads=cfg.get("torch_threads"))
