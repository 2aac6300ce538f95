"""``POST /v1/models/{name}/predict``: classify one text or a batch."""

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from embedlab.errors import EmbedlabError
from embedlab.serve.errors import ERRORS, EmptyTextError, FieldError, NonFiniteOutputError
from embedlab.serve.metrics import ServeMetrics
from embedlab.serve.models import ServedModel
from embedlab.serve.routes import model_name, served
from embedlab.serve.schemas import PredictResponse


def prediction(p: Any, top_k: int, thresholds: dict[str, float] | None = None) -> dict:
    """One text's answer: its label, the ``top_k`` classes, status and known words; a
    multi-label model's answer adds the label set, every label's probability and the
    ``thresholds`` it was decided by."""
    top = list(p.probabilities.items())[:top_k]
    out = {"label": p.label, "probability": top[0][1],
           "top_k": [{"label": c, "probability": v} for c, v in top],
           "status": p.status, "known_words": p.known_words, "ood_score": p.ood_score}
    if p.prediction_set is not None:
        out["prediction_set"] = p.prediction_set
    if p.labels is not None:
        out.update({"labels": list(p.labels), "probabilities": p.probabilities,
                    "thresholds": thresholds})
    return out


def thresholds_of(predictor: Any, threshold: float | None) -> dict[str, float] | None:
    """Each label's threshold (:meth:`TextPredictor.label_thresholds`, the one rule ``decide``
    applies); None for single-label."""
    if not getattr(predictor, "multilabel", False):
        return None
    return predictor.label_thresholds(threshold)


def check_predictions(name: str, preds: Sequence[Any]) -> None:
    """422 for texts left empty by preprocessing; a named 500 for non-finite probabilities."""
    empty = [i for i, p in enumerate(preds) if p.status == "empty"]
    if empty:
        raise EmptyTextError(empty)
    broken = [i for i, p in enumerate(preds)
              if not all(math.isfinite(v) for v in p.probabilities.values())]
    if broken:
        raise NonFiniteOutputError(name, broken)


def router(models: Mapping[str, ServedModel], metrics: ServeMetrics, request: type) -> APIRouter:
    """``request`` is this app's ``PredictRequest`` (its limits are per app)."""
    api = APIRouter()
    name_param = model_name(models)

    @api.post("/v1/models/{name}/predict", response_model=PredictResponse,
              summary="classify one text or a batch", responses=ERRORS)
    def predict(body: request, name: str = name_param) -> Response:  # type: ignore[valid-type]
        # Serialised here, in the worker thread: FastAPI would otherwise validate the returned
        # dict against the response model in a second thread-pool hop (the schema documents it).
        predictor = served(models, name).predictor
        try:
            predictor.set_threshold(body.coverage)  # type: ignore[attr-defined]
        except EmbedlabError as e:
            raise FieldError("coverage", str(e)) from None
        threshold = body.threshold  # type: ignore[attr-defined]
        if not getattr(predictor, "multilabel", False):
            if threshold is not None:
                raise HTTPException(422, f"threshold: model '{name}' predicts one label per "
                                    "text; a threshold applies to multi-label models")
            preds = predictor.predict(body.texts, coverage=body.coverage,  # type: ignore[attr-defined]
                                      min_confidence=body.min_confidence)  # type: ignore[attr-defined]
        else:
            preds = predictor.predict(body.texts, threshold=threshold,  # type: ignore[attr-defined]
                                      min_confidence=body.min_confidence)  # type: ignore[attr-defined]
        check_predictions(name, preds)
        cut = thresholds_of(predictor, threshold)
        out = [prediction(p, body.top_k, cut) for p in preds]  # type: ignore[attr-defined]
        metrics.texts.labels(name).inc(len(preds))
        content = json.dumps({"model": name, "predictions": out}, allow_nan=False,
                             ensure_ascii=False, separators=(",", ":"))
        return Response(content.encode("utf-8"), media_type="application/json")

    return api
