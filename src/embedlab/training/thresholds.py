"""Choosing a multi-label run's decision thresholds on its validation split.

One global threshold (the same for every label) and one threshold per label are both chosen on
validation; the run keeps the one that scores higher by the metric the user asks
(``training.threshold_metric``: micro-F1 by default, macro-F1 on request). A label with fewer
than :data:`MIN_POSITIVES` validation examples keeps the global threshold: a per-label
threshold fitted to two or three examples is noise. Predictions always include the most
probable label (:func:`embedlab.inference.prediction.decide_sets`); the global threshold is
chosen under that same rule, the per-label ones on each label's own F1 of its probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from sklearn.metrics import f1_score

from embedlab.inference.prediction import Thresholds, decide_sets

#: the candidate thresholds
GRID = np.round(np.arange(0.02, 0.981, 0.01), 2)
#: validation positives a label needs for a threshold of its own
MIN_POSITIVES = 5
METRICS = ("micro_f1", "macro_f1")


def score(y_true: np.ndarray, y_pred: np.ndarray, metric: str) -> float:
    """Micro- or macro-F1 of boolean indicator rows (scikit-learn)."""
    average = "micro" if metric == "micro_f1" else "macro"
    return float(f1_score(y_true, y_pred, average=average, zero_division=0))


def label_f1(y_true: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """One label's F1 at every :data:`GRID` threshold (the counts of ``f1_score``, at once)."""
    pred = probs[:, None] >= GRID[None, :]
    tp = (pred & y_true[:, None]).sum(0)
    fp = (pred & ~y_true[:, None]).sum(0)
    fn = (~pred & y_true[:, None]).sum(0)
    return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


def best_global(y_true: np.ndarray, probs: np.ndarray, metric: str = "micro_f1",
                parents: np.ndarray | None = None) -> tuple[float, float]:
    """The grid threshold with the best ``metric`` for every label at once, and its score."""
    scores = [score(y_true, decide_sets(probs, t, parents=parents), metric) for t in GRID]
    k = int(np.argmax(scores))
    return float(GRID[k]), float(scores[k])


def choose_thresholds(y_true: np.ndarray, probs: np.ndarray, classes: Sequence[str],
                      metric: str = "micro_f1", parents: np.ndarray | None = None
                      ) -> Thresholds:
    """Global and per-label thresholds on validation (indicator rows ``y_true``, sigmoid
    ``probs``); :attr:`Thresholds.use` names the one with the higher ``metric``."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}; found {metric!r}")
    y_true = np.asarray(y_true) > 0.5
    glob, glob_score = best_global(y_true, probs, metric, parents)
    per: dict[str, float] = {}
    for j, name in enumerate(classes):
        if y_true[:, j].sum() < MIN_POSITIVES:
            per[name] = glob
            continue
        per[name] = float(GRID[int(np.argmax(label_f1(y_true[:, j], probs[:, j])))])
    vector = np.asarray([per[c] for c in classes], dtype=np.float32)
    per_score = score(y_true, decide_sets(probs, vector, parents=parents), metric)
    use: Literal["global", "per_label"] = "per_label" if per_score > glob_score else "global"
    return Thresholds(glob, per, use, metric, {"global": glob_score, "per_label": per_score})
