"""Explain texts with a chosen method: the one entry point behind the API and the CLI."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from embedlab.errors import ConfigError, DataError, suggest
from embedlab.explain.explanation import Explanation, NGramScore, TokenScore
from embedlab.explain.methods import METHODS, Method
from embedlab.explain.model_view import ModelView, Prepared
from embedlab.explain.result import MethodResult

__all__ = ["METHODS", "Method", "available_methods", "check_settings", "explain_prepared",
           "explain_texts", "resolve_method", "run_method"]

log = logging.getLogger("embedlab")


def available_methods(view: ModelView) -> list[str]:
    """The methods this model can be explained with (``auto`` aside): its class says which."""
    return view.model.explanation_methods()


def _installed(method: str) -> bool:
    """Is the optional library a method needs importable (``auto`` skips it otherwise)?"""
    import importlib.util

    module = {"lime": "lime", "ig": "captum"}.get(method)
    return module is None or importlib.util.find_spec(module) is not None


def resolve_method(view: ModelView, method: str) -> str:
    """``auto`` → the first of the model class's ``auto_explanation`` (its family's measured
    best, benchmarks/explain.py) that it can do and whose library is installed, else occlusion;
    any other name must be a registered method the model can do."""
    can = available_methods(view)
    if method == "auto":
        for name in view.model.auto_explanation:
            if name in can and _installed(name):
                return name
        return "occlusion"
    if method not in METHODS:
        raise ConfigError(f"unknown method '{method}'{suggest(str(method), METHODS.names())}; "
                          f"known: auto, {', '.join(METHODS)}")
    if method not in can:
        raise ConfigError(f"method '{method}' is not available for this {view.family} model; "
                          f"it can do: {', '.join(can)}")
    return method


def check_settings(method: str, settings: dict[str, Any]) -> None:
    allowed = [p for p in inspect.signature(METHODS[method]).parameters
               if p not in ("view", "prepared", "target")]
    for key, value in settings.items():
        if key not in allowed:
            raise ConfigError(f"method '{method}' has no setting '{key}'"
                              + (f"; it takes: {', '.join(allowed)}" if allowed else
                                 "; it takes none"))
        if key in ("n_steps", "num_samples") and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"{key} must be a positive integer, found {value!r}")


def run_method(view: ModelView, prepared: Prepared, method: str, target: int,
               **settings: Any) -> MethodResult:
    return METHODS[method](view, prepared, target, **settings)


def explain_prepared(view: ModelView, prepared: Prepared, method: str,
                     target: str | int | None = None, **settings: Any) -> Explanation:
    """Explain one prepared text with a resolved method."""
    probs = view.proba([prepared.ids])[0]
    predicted = int(np.argmax(probs))
    index = view.class_index(target, predicted)
    result = run_method(view, prepared, method, index, **settings)
    tokens = []
    for i, (token, (a, b)) in enumerate(zip(prepared.tokens, prepared.spans)):
        score = float(result.scores[i]) if i < prepared.seen else 0.0
        tokens.append(TokenScore(token, a, b, prepared.status(i), score))
    grams = []
    for first, last, score, count in result.ngrams:
        a, b = prepared.spans[first][0], prepared.spans[last][1]
        grams.append(NGramScore(prepared.tokens[first:last + 1], first, last, a, b,
                                float(score), last - first + 1, count))
    notes = list(prepared.notes) + list(result.notes)
    for note in result.notes:
        log.warning(note)
    return Explanation(
        text=prepared.text, predicted=view.classes[predicted], explained=view.classes[index],
        probability=float(probs[index]),
        probabilities={c: float(p) for c, p in zip(view.classes, probs)},
        method=method, settings=dict(result.settings), tokens=tokens,
        score_kind=result.score_kind, ngrams=grams, delta=result.delta, base=result.base,
        maps=result.maps, choices=result.choices, notes=notes,
        status="ok" if prepared.known else "no_known_words")


def explain_texts(predictor: Any, texts: Sequence[str], method: str = "auto",
                  target: str | int | None = None, progress: Callable[[Iterable], Iterable]
                  | None = None, **settings: Any) -> list[Explanation]:
    """One :class:`Explanation` per text (see :func:`embedlab.explain.explain`)."""
    if isinstance(texts, str):
        raise DataError("expected a list of texts, found a single string (wrap it in a list)")
    view = predictor if isinstance(predictor, ModelView) else ModelView(predictor)
    method = resolve_method(view, method)
    check_settings(method, settings)
    if target is not None:
        view.class_index(target, 0)
    prepared = [view.prepare(t, i if len(texts) > 1 else None) for i, t in enumerate(texts)]
    items: Iterable[Prepared] = progress(prepared) if progress else prepared
    return [explain_prepared(view, p, method, target, **settings) for p in items]
