"""``/healthz`` (the process is alive), ``/readyz`` (every model loaded), ``/metrics`` (Prometheus)."""

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from embedlab.serve.metrics import ServeMetrics
from embedlab.serve.models import ServedModel
from embedlab.serve.schemas import ErrorResponse, Health, Ready


def router(models: Mapping[str, ServedModel]) -> APIRouter:
    api = APIRouter()

    @api.get("/healthz", response_model=Health, summary="the process is alive")
    async def healthz() -> dict:
        return {"status": "ok"}

    @api.get("/readyz", response_model=Ready, summary="every model is loaded",
             responses={503: {"model": ErrorResponse}})
    async def readyz() -> Any:
        if not models:
            return JSONResponse({"detail": "no model loaded"}, status_code=503)
        return {"status": "ready", "models": list(models)}

    return api


def metrics_router(metrics: ServeMetrics) -> APIRouter:
    api = APIRouter()

    @api.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {}}}})
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    return api
