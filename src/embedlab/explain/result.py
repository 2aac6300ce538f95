"""What an explanation method returns for one text, before it becomes an :class:`Explanation`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedlab.explain.explanation import ScoreKind


@dataclass
class MethodResult:
    """Scores of the tokens the model saw, and what else the method found.

    ``scores`` has one value per seen token. ``ngrams`` are ``(first, last, score, filters)``
    token-index runs; ``base`` is the logit part no token accounts for (the bias for ``exact``,
    the logit at the baseline for ``ig``).
    """

    scores: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)
    score_kind: ScoreKind = "attribution"
    ngrams: list[tuple[int, int, float, int]] = field(default_factory=list)
    delta: float | None = None
    base: float | None = None
    maps: dict[str, list[list[float]]] = field(default_factory=dict)
    choices: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def spread(features: np.ndarray, spans: np.ndarray, seen: int) -> np.ndarray:
    """Token scores from feature scores: a feature over tokens ``[a, b)`` gives each 1/(b-a)."""
    out = np.zeros(seen, dtype=np.float64)
    spans = np.asarray(spans).reshape(-1, 2)
    features = np.asarray(features, dtype=np.float64)
    single = (spans[:, 1] - spans[:, 0] == 1) & (spans[:, 0] >= 0) & (spans[:, 0] < seen)
    np.add.at(out, spans[single, 0], features[single])
    for value, (a, b) in zip(features[~single], spans[~single]):
        a, b = max(int(a), 0), min(int(b), seen)
        if b > a:
            out[a:b] += float(value) / (b - a)
    return out
