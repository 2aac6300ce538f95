"""The FastAPI application: model cards, prediction, explanations, Prometheus metrics, a web page.

``create_app(["runs/ag-cnn", "trec=runs/trec-cnn"])`` loads and verifies every run once, then
returns the app. Prediction and explanation endpoints are plain ``def`` functions, so FastAPI runs them in its
thread pool and the event loop keeps answering other requests (health checks, metrics) meanwhile.
Every error is JSON ``{"detail": "<one line>"}`` (422s also list ``errors``); bad input is never
a 500. ``embedlab serve`` runs it under uvicorn.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations, and the
# request model is built inside create_app (its limits are per app).

import json
import logging
import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from embedlab import __version__
from embedlab.errors import EmbedlabError, unknown_name
from embedlab.serve.metrics import MetricsMiddleware, ServeMetrics
from embedlab.serve.models import ServedModel, finite, load_served_models
from embedlab.serve.schemas import (
    ErrorResponse,
    ExplanationResponse,
    Health,
    ModelCard,
    ModelList,
    PredictResponse,
    Ready,
    ServeLimits,
    request_models,
)

log = logging.getLogger("embedlab.serve")

ENV_CONFIG = "EMBEDLAB_SERVE_CONFIG"

_ERRORS = {
    400: {"model": ErrorResponse, "description": "the body could not be read"},
    404: {"model": ErrorResponse, "description": "unknown model"},
    413: {"model": ErrorResponse, "description": "request body too large"},
    422: {"model": ErrorResponse, "description": "invalid request (field, type, limit or empty text)"},
}


class EmptyTextError(EmbedlabError):
    """Texts that preprocessing leaves without tokens: nothing to predict (HTTP 422)."""

    def __init__(self, indices: list[int]) -> None:
        self.indices = indices
        shown = ", ".join(str(i) for i in indices[:10]) + (", …" if len(indices) > 10 else "")
        noun = "text" if len(indices) == 1 else "texts"
        super().__init__(f"{noun} {shown} {'is' if len(indices) == 1 else 'are'} empty after "
                         "preprocessing (no tokens): there is nothing to predict")


class BodyLimitMiddleware:
    """413 for a request body over ``max_bytes``, by its Content-Length or by counting streamed
    chunks. The error is raised where the endpoint reads the body, so it becomes our JSON 413
    (and the metrics know the route)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        received = 0

        async def limited() -> Message:
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited, send)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _loc(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _validation_errors(exc: RequestValidationError) -> tuple[str, list[dict]]:
    """Our one-line message and the error list, without echoing the input (it may hold NaN)."""
    items = []
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            reason = (e.get("ctx") or {}).get("error", "")
            msg = f"not valid JSON ({reason} at character {e['loc'][-1]})"
            items.append({"loc": ["body"], "msg": msg, "type": "json_invalid"})
            continue
        loc = [p if isinstance(p, int) else str(p) for p in e.get("loc", ())]
        items.append({"loc": loc, "msg": _one_line(e.get("msg", "invalid")),
                      "type": str(e.get("type", "invalid"))})
    if not items:
        return "invalid request", items
    first = items[0]
    detail = f"{_loc(first['loc'])}: {first['msg']}"
    if len(items) > 1:
        detail += f" (and {len(items) - 1} more problem{'s' if len(items) > 2 else ''})"
    return detail, items


def _page() -> str:
    return resources.files("embedlab.serve").joinpath("static/index.html").read_text("utf-8")


def create_app(run_dirs: Mapping[str, str | Path] | Iterable[str | Path], *,
               limits: ServeLimits | None = None, torch_threads: int | None = None,
               warm_up: bool = True) -> FastAPI:
    """Load the runs (``PATH``, ``NAME=PATH`` or a name → path mapping) and build the app.

    A missing, incomplete or altered run raises :class:`embedlab.ArtifactError` naming the reason.
    ``torch_threads`` bounds torch's intra-op threads in this process.
    """
    limits = limits or ServeLimits()
    if torch_threads is not None:
        import torch

        torch.set_num_threads(max(1, int(torch_threads)))
    models: dict[str, ServedModel] = load_served_models(run_dirs, warm_up=warm_up)
    metrics = ServeMetrics()
    from embedlab.explain.explainer import METHODS, explain_texts

    PredictRequest, ExplainRequest = request_models(limits, ["auto", *METHODS])
    page = _page()

    app = FastAPI(
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

    # ----- errors: JSON, one line ------------------------------------------------------------
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, items = _validation_errors(exc)
        ctype = request.headers.get("content-type", "")
        if items and items[0]["loc"] == ["body"] and "json" not in ctype:
            detail = f"body: expected a JSON object sent as application/json, found {ctype or 'no Content-Type'}"
        return JSONResponse({"detail": detail, "errors": items}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's 400 for a body that is not UTF-8: for us that is wrong JSON, a 422
            msg = f"not valid JSON (not UTF-8 text: {exc.__cause__.reason} at byte {exc.__cause__.start})"
            return JSONResponse({"detail": f"body: {msg}",
                                 "errors": [{"loc": ["body"], "msg": msg, "type": "json_invalid"}]},
                                status_code=422)
        if exc.status_code == 413:
            detail = f"request body is larger than the limit of {limits.max_body_bytes} bytes"
        return JSONResponse({"detail": _one_line(str(detail))}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(EmptyTextError)
    async def _empty(request: Request, exc: EmptyTextError) -> JSONResponse:
        items = [{"loc": ["body", "texts", i], "msg": "empty after preprocessing (no tokens)",
                  "type": "empty_text"} for i in exc.indices]
        return JSONResponse({"detail": str(exc), "errors": items}, status_code=422)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal server error ({type(exc).__name__})"},
                            status_code=500)

    def served(name: str) -> ServedModel:
        try:
            return models[name]
        except KeyError:
            raise HTTPException(404, str(unknown_name("model", name, models))) from None

    # the served names are listed in the schema (docs, clients, fuzzers); any other name is a 404
    ModelName = PathParam(description="a served model's name (GET /v1/models lists them)",
                          json_schema_extra={"enum": list(models)})

    # ----- endpoints -------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/healthz", response_model=Health, summary="the process is alive")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", response_model=Ready, summary="every model is loaded",
             responses={503: {"model": ErrorResponse}})
    async def readyz() -> Any:
        if not models:
            return JSONResponse({"detail": "no model loaded"}, status_code=503)
        return {"status": "ready", "models": list(models)}

    @app.get("/v1/models", response_model=ModelList, summary="the served models")
    async def list_models() -> dict:
        out = []
        for m in models.values():
            test = m.card["metrics"].get("test") or {}
            out.append({"name": m.name, "architecture": m.card["architecture"]["name"],
                        "classes": m.card["classes"], "test_accuracy": test.get("accuracy"),
                        "checksum": m.card["checksum"]["manifest_sha256"]})
        return {"models": out}

    @app.get("/v1/models/{name}", response_model=ModelCard, summary="a model's card",
             responses={404: _ERRORS[404]})
    async def model_card(name: str = ModelName) -> dict:
        return served(name).card

    @app.post("/v1/models/{name}/predict", response_model=PredictResponse,
              summary="classify one text or a batch", responses=_ERRORS)
    def predict(body: PredictRequest, name: str = ModelName) -> Response:  # type: ignore[valid-type]
        # Serialised here, in the worker thread: FastAPI would otherwise validate the returned
        # dict against the response model in a second thread-pool hop (the schema documents it).
        m = served(name)
        preds = m.predictor.predict(body.texts)
        empty = [i for i, p in enumerate(preds) if p.status == "empty"]
        if empty:
            raise EmptyTextError(empty)
        k = body.top_k
        out = []
        for p in preds:
            top = list(p.probabilities.items())[:k]
            out.append({"label": p.label, "probability": top[0][1],
                        "top_k": [{"label": c, "probability": v} for c, v in top],
                        "status": p.status, "known_words": p.known_words})
        metrics.texts.labels(name).inc(len(preds))
        try:
            content = json.dumps({"model": name, "predictions": out}, allow_nan=False,
                                 ensure_ascii=False, separators=(",", ":"))
        except ValueError:
            raise RuntimeError(f"model '{name}' produced non-finite probabilities") from None
        return Response(content.encode("utf-8"), media_type="application/json")

    @app.post("/v1/models/{name}/explain", response_model=ExplanationResponse,
              summary="why the model predicts what it does for one text",
              responses={**_ERRORS, 501: {"model": ErrorResponse,
                                          "description": "the method needs a package this server lacks"}})
    def explain(body: ExplainRequest, name: str = ModelName) -> dict:  # type: ignore[valid-type]
        m = served(name)
        if m.view is None:
            raise HTTPException(422, f"model '{name}' cannot be explained: "
                                f"{m.card['explanations']['note']}")
        try:
            [e] = explain_texts(m.view, [body.text], body.method, body.target)
        except EmbedlabError as err:       # empty text, a method this model cannot do, a class it lacks
            if "pip install" in str(err):  # the server lacks the explain extra: not the client's fault
                raise HTTPException(501, f"not available on this server: {err}") from None
            raise HTTPException(422, str(err)) from None
        metrics.explained.labels(name, e.method).inc()
        return finite(e.to_dict())

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {}}}})
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

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
