"""``POST /v1/models/{name}/explain``: why the model predicts what it does for one text."""

import math
from collections.abc import Mapping

from fastapi import APIRouter, HTTPException

from embedlab.errors import EmbedlabError
from embedlab.serve.errors import ERRORS, NonFiniteOutputError
from embedlab.serve.metrics import ServeMetrics
from embedlab.serve.models import ServedModel, finite
from embedlab.serve.routes import model_name, served
from embedlab.serve.schemas import ErrorResponse, ExplanationResponse

RESPONSES = {**ERRORS, 501: {"model": ErrorResponse,
                             "description": "the method needs a package this server lacks"}}


def explain_one(m: ServedModel, text: str, method: str, target: str | None) -> dict:
    """The explanation JSON of one text; the request's faults as 422, a missing extra as 501."""
    from embedlab.explain.explainer import explain_texts

    if m.view is None:
        raise HTTPException(422, f"model '{m.name}' cannot be explained: "
                            f"{m.card['explanations']['note']}")
    try:
        [e] = explain_texts(m.view, [text], method, target)
    except EmbedlabError as err:       # empty text, a method this model cannot do, a class it lacks
        if "pip install" in str(err):  # the server lacks the explain extra: not the client's fault
            raise HTTPException(501, f"not available on this server: {err}") from None
        raise HTTPException(422, str(err)) from None
    if not all(math.isfinite(v) for v in e.probabilities.values()):
        raise NonFiniteOutputError(m.name, [0])
    return e.to_dict()


def router(models: Mapping[str, ServedModel], metrics: ServeMetrics, request: type) -> APIRouter:
    """``request`` is this app's ``ExplainRequest`` (its limits and methods are per app)."""
    api = APIRouter()
    name_param = model_name(models)

    @api.post("/v1/models/{name}/explain", response_model=ExplanationResponse,
              summary="why the model predicts what it does for one text", responses=RESPONSES)
    def explain(body: request, name: str = name_param) -> dict:  # type: ignore[valid-type]
        out = explain_one(served(models, name), body.text, body.method, body.target)  # type: ignore[attr-defined]
        metrics.explained.labels(name, out["method"]).inc()
        return finite(out)

    return api
