"""The server's errors as JSON ``{"detail": "<one line>"}`` (422s also list ``errors``).

Bad input is a 4xx naming the problem, never a 500. A model that answers with NaN or infinity
is the server's fault, not the request's: a 500 that names the model and the texts, never a
traceback or a body with NaN in it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from embedlab.errors import EmbedlabError
from embedlab.serve.schemas import ErrorResponse, ServeLimits

log = logging.getLogger("embedlab.serve")

#: the documented error answers of the endpoints that take a request body
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "unknown model"},
    413: {"model": ErrorResponse, "description": "request body too large"},
    422: {"model": ErrorResponse, "description": "invalid request (not JSON, nested too deeply, "
          "a field, type, limit or empty text)"},
    500: {"model": ErrorResponse, "description": "the model answered with non-finite "
          "probabilities (a broken model, not a bad request)"},
}


def _texts(indices: list[int]) -> tuple[str, str]:
    shown = ", ".join(str(i) for i in indices[:10]) + (", …" if len(indices) > 10 else "")
    return ("text" if len(indices) == 1 else "texts"), shown


class EmptyTextError(EmbedlabError):
    """Texts that preprocessing leaves without tokens: nothing to predict (HTTP 422)."""

    def __init__(self, indices: list[int]) -> None:
        self.indices = indices
        noun, shown = _texts(indices)
        super().__init__(f"{noun} {shown} {'is' if len(indices) == 1 else 'are'} empty after "
                         "preprocessing (no tokens): there is nothing to predict")


class FieldError(EmbedlabError):
    """A request field that is valid JSON but cannot be served by this model (HTTP 422), e.g. a
    coverage asked of a run with no calibration data."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"body.{field}: {message}")


class NonFiniteOutputError(EmbedlabError):
    """The model's probabilities for some texts are NaN or infinite (HTTP 500, named)."""

    def __init__(self, model: str, indices: list[int]) -> None:
        self.indices = indices
        noun, shown = _texts(indices)
        super().__init__(f"model '{model}' produced non-finite probabilities for {noun} {shown}: "
                         "its weights overflow on these words; the model is broken, not the request")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def _loc(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _json_invalid(msg: str) -> dict[str, Any]:
    return {"loc": ["body"], "msg": msg, "type": "json_invalid"}


def validation_errors(exc: RequestValidationError) -> tuple[str, list[dict]]:
    """Our one-line message and the error list, without echoing the input (it may hold NaN)."""
    items = []
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            reason = (e.get("ctx") or {}).get("error", "")
            items.append(_json_invalid(f"not valid JSON ({reason} at character {e['loc'][-1]})"))
            continue
        loc = [p if isinstance(p, int) else str(p) for p in e.get("loc", ())]
        items.append({"loc": loc, "msg": one_line(e.get("msg", "invalid")),
                      "type": str(e.get("type", "invalid"))})
    if not items:
        return "invalid request", items
    first = items[0]
    detail = f"{_loc(first['loc'])}: {first['msg']}"
    if len(items) > 1:
        detail += f" (and {len(items) - 1} more problem{'s' if len(items) > 2 else ''})"
    return detail, items


def unreadable_body(cause: BaseException | None) -> str | None:
    """Why FastAPI could not parse a body (its 400), as our 'not valid JSON' reason; None when
    the 400 did not come from parsing the body."""
    if isinstance(cause, UnicodeDecodeError):
        return f"not valid JSON (not UTF-8 text: {cause.reason} at byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "not valid JSON (nested too deeply to read)"
    if cause is not None:
        return f"not valid JSON ({type(cause).__name__})"
    return None


def install_error_handlers(app: FastAPI, limits: ServeLimits) -> None:
    """Every error of ``app`` as one JSON line; unreadable bodies are 422s like wrong JSON."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, items = validation_errors(exc)
        ctype = request.headers.get("content-type", "")
        if items and items[0]["loc"] == ["body"] and "json" not in ctype:
            detail = f"body: expected a JSON object sent as application/json, found {ctype or 'no Content-Type'}"
        return JSONResponse({"detail": detail, "errors": items}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 400 and (msg := unreadable_body(exc.__cause__)):
            # FastAPI's 400 for a body it could not parse: for us that is wrong JSON, a 422
            return JSONResponse({"detail": f"body: {msg}", "errors": [_json_invalid(msg)]},
                                status_code=422)
        if exc.status_code == 413:
            detail = f"request body is larger than the limit of {limits.max_body_bytes} bytes"
        return JSONResponse({"detail": one_line(str(detail))}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(EmptyTextError)
    async def _empty(request: Request, exc: EmptyTextError) -> JSONResponse:
        items = [{"loc": ["body", "texts", i], "msg": "empty after preprocessing (no tokens)",
                  "type": "empty_text"} for i in exc.indices]
        return JSONResponse({"detail": str(exc), "errors": items}, status_code=422)

    @app.exception_handler(FieldError)
    async def _field(request: Request, exc: FieldError) -> JSONResponse:
        items = [{"loc": ["body", exc.field], "msg": str(exc).split(": ", 1)[1],
                  "type": "unservable"}]
        return JSONResponse({"detail": str(exc), "errors": items}, status_code=422)

    @app.exception_handler(NonFiniteOutputError)
    async def _non_finite(request: Request, exc: NonFiniteOutputError) -> JSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": str(exc)}, status_code=500)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal server error ({type(exc).__name__})"},
                            status_code=500)
