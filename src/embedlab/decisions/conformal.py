"""Abstaining with a guarantee: split-conformal prediction sets, and the risk–coverage trade-off.

Split conformal prediction (Vovk et al.; the "LAC" score of Sadinle, Lei & Wasserman 2019): on a
held-out calibration split score every text by ``1 − p(true class)``; ``q`` is the
``⌈(n+1)(1−α)⌉ / n`` empirical quantile of those scores. At prediction the set holds every class
with ``p ≥ 1 − q``. If the calibration texts and the new texts are exchangeable, the set holds the
true class with probability ≥ ``1 − α`` (marginally), and among the sets with that guarantee this
score gives the smallest on average. A set may hold one class (the model is sure), several (it is
not) or none (no class is plausible enough: "none of the above").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedlab.errors import ConfigError, DataError


def check_coverage(coverage: float) -> float:
    """``coverage`` itself when it lies strictly between 0 and 1, else a one-line error."""
    if not isinstance(coverage, (int, float)) or not 0.0 < float(coverage) < 1.0:
        raise ConfigError(f"coverage must lie strictly between 0 and 1 (e.g. 0.95), found {coverage!r}")
    return float(coverage)


def conformal_rank(n: int, coverage: float, what: str = "calibration texts",
                   have: str = "the validation split has") -> int:
    """The (1-based) rank of the calibration score that bounds a ``coverage`` set,
    ``ceil((n + 1) · coverage)``, or a one-line error naming the fewest texts that allow it
    (both computed with a tolerance, so 9 texts are enough for 0.9, not 10)."""
    rank = math.ceil((n + 1) * coverage - 1e-9)
    if not n or rank > n:
        need = math.ceil(coverage / (1 - coverage) - 1e-9)
        raise DataError(f"coverage {coverage:g} needs at least {need} {what}; {have} {n}")
    return rank


def threshold_of_scores(scores: Sequence[float] | np.ndarray, coverage: float,
                        what: str = "calibration texts", have: str = "the validation split has"
                        ) -> float:
    """The probability a class needs to enter a ``coverage`` set, from the sorted conformal
    scores ``1 − p(true class)`` of held-out texts (a one-line error when they are too few)."""
    coverage = check_coverage(coverage)
    return 1.0 - float(scores[conformal_rank(len(scores), coverage, what, have) - 1])


@dataclass(frozen=True)
class ConformalSets:
    """The calibrated threshold of split-conformal sets for one coverage.

    ``threshold`` is ``1 − q``: a class enters the set when its probability is at least this.
    """

    coverage: float
    threshold: float
    n_calibration: int

    @classmethod
    def fit(cls, probs: np.ndarray, y: Sequence[int] | np.ndarray, coverage: float) -> ConformalSets:
        """Calibrate on held-out ``probs`` (n, classes) and their true classes ``y``."""
        coverage = check_coverage(coverage)
        probs = np.asarray(probs, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        scores = np.sort(1.0 - probs[np.arange(len(y)), y])
        return cls(coverage, threshold_of_scores(scores, coverage), len(y))

    def sets(self, probs: np.ndarray) -> np.ndarray:
        """Boolean (n, classes): which classes are in each text's set."""
        return np.asarray(probs) >= self.threshold

    def to_dict(self) -> dict:
        return {"coverage": self.coverage, "threshold": self.threshold,
                "n_calibration": self.n_calibration}


def set_figures(sets: np.ndarray, y: Sequence[int] | np.ndarray) -> dict[str, float]:
    """Empirical coverage, mean set size and the share of empty / single-class sets."""
    sets = np.asarray(sets, dtype=bool)
    y = np.asarray(y, dtype=np.int64)
    size = sets.sum(1)
    return {"coverage": float(sets[np.arange(len(y)), y].mean()), "mean_size": float(size.mean()),
            "empty": float((size == 0).mean()), "single": float((size == 1).mean())}


def risk_coverage(probs: np.ndarray, y: Sequence[int] | np.ndarray) -> dict[str, list[float] | float]:
    """Selective classification: answer the texts with the highest confidence first; for each
    share answered (coverage), the error among the answered texts (risk), with the confidence
    threshold that gives it. ``aurc`` is the area under the curve (lower is better)."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y)
    conf = probs.max(1)
    order = np.argsort(-conf, kind="stable")
    wrong = (probs.argmax(1) != y)[order].astype(np.float64)
    k = np.arange(1, len(y) + 1)
    risk = np.cumsum(wrong) / k
    coverage = k / len(y)
    return {"coverage": coverage.tolist(), "risk": risk.tolist(),
            "threshold": conf[order].tolist(), "aurc": float(risk.mean())}


#: confidence thresholds of :func:`risk_coverage_summary`
SUMMARY_THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def risk_coverage_summary(probs: np.ndarray, y: Sequence[int] | np.ndarray) -> dict:
    """The curve's AURC and, for a few confidence thresholds, the share of texts answered at or
    above it and the error among them (what ``--min-confidence`` would give)."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y)
    conf = probs.max(1)
    wrong = probs.argmax(1) != y
    points = []
    for t in SUMMARY_THRESHOLDS:
        answered = conf >= t
        points.append({"min_confidence": t, "coverage": float(answered.mean()),
                       "risk": float(wrong[answered].mean()) if answered.any() else 0.0})
    return {"aurc": risk_coverage(probs, y)["aurc"], "points": points}


def plot_risk_coverage(curve: dict, out: str | Path, title: str = "risk–coverage",
                       fmt: str | None = None) -> Path:
    """The risk–coverage curve with a few confidence thresholds marked on it (``fmt``: the
    image format when ``out``'s suffix does not say it)."""
    from embedlab.training.plots import new_figure

    fig = new_figure((6.0, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    cov = np.asarray(curve["coverage"])
    risk = np.asarray(curve["risk"])
    thr = np.asarray(curve["threshold"])
    ax.plot(cov, risk, color="#1f77b4")
    for t in (0.5, 0.7, 0.9):
        i = np.flatnonzero(thr >= t)
        if len(i):
            j = i[-1]
            ax.plot(cov[j], risk[j], "o", color="#d62728")
            ax.annotate(f"--min-confidence {t:g}", (cov[j], risk[j]), textcoords="offset points",
                        xytext=(6, 6), fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max(0.05, float(risk.max()) * 1.1))
    ax.set_xlabel("share of texts answered (coverage)")
    ax.set_ylabel("error among answered texts (risk)")
    ax.set_title(f"{title} (AURC {curve['aurc']:.3f})")
    ax.grid(alpha=0.3)
    out = Path(out)
    fig.savefig(out, dpi=110, bbox_inches="tight", format=fmt)
    return out
