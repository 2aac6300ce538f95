"""Temperature scaling, its bias-corrected form, and the figures that say whether probabilities
mean what they say.

Temperature scaling (Guo et al. 2017) divides the logits by one number ``T`` fitted on held-out
data to minimise the negative log-likelihood; it never changes the arg-max, so accuracy is
unchanged. Bias-corrected temperature scaling (BCTS, Alexandari et al. 2020) fits a logit
offset per class with ``T``, for the same likelihood: it also corrects the class priors a model
learned badly, so it can change the arg-max (:func:`fit_bias_temperature`). For multi-label
outputs (one sigmoid per label) each label gets its own ``T``.

The figures are the usual three: expected calibration error (ECE, 15 equal-width bins of the
top-label confidence), the Brier score (mean squared error of the probability vector against the
one-hot truth) and the log loss, computed with scikit-learn where it has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.special import expit, log_expit, log_softmax

from embedlab.errors import DataError

#: temperatures are searched on a log scale between these bounds
T_BOUNDS = (0.05, 20.0)
#: BCTS: the standard deviation of the Gaussian prior on each class's offset (in calibrated logits)
BIAS_PRIOR_SD = 1.0
#: a label needs this many positive and negative validation rows to get its own temperature (and
#: a class this many validation texts to get a BCTS offset)
MIN_LABEL_ROWS = 5
#: bins of :func:`expected_calibration_error`
ECE_BINS = 15


def _check(logits: np.ndarray, what: str) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or not len(logits):
        raise DataError(f"{what}: expected logits of shape (n_texts, n_classes) with n_texts > 0, "
                        f"found shape {logits.shape}")
    if not np.isfinite(logits).all():
        raise DataError(f"{what}: the logits hold nan or infinite values")
    return logits


def fit_temperature(logits: np.ndarray, y: Sequence[int] | np.ndarray) -> float:
    """The ``T`` > 0 minimising the softmax NLL of ``logits / T`` for the true classes ``y``."""
    from scipy.optimize import minimize_scalar

    z = _check(logits, "temperature scaling")
    y = np.asarray(y, dtype=np.int64)
    rows = np.arange(len(z))

    def nll(log_t: float) -> float:
        return float(-log_softmax(z / np.exp(log_t), axis=1)[rows, y].mean())

    best = minimize_scalar(nll, bounds=tuple(np.log(T_BOUNDS)), method="bounded",
                           options={"xatol": 1e-4})
    return float(np.exp(best.x))


def fit_bias_temperature(logits: np.ndarray, y: Sequence[int] | np.ndarray,
                         prior_sd: float = BIAS_PRIOR_SD,
                         min_rows: int = MIN_LABEL_ROWS) -> tuple[float, np.ndarray]:
    """``(T, b)`` minimising the softmax NLL of ``logits / T + b`` for the true classes ``y``,
    plus a Gaussian prior of standard deviation ``prior_sd`` on each offset ``b_k`` (the
    penalty ``Σ b_k² / (2 n prior_sd²)`` on the mean NLL of ``n`` texts: it weighs more on a
    small validation split).

    Only a class with at least ``min_rows`` validation texts gets an offset; the others keep 0,
    and the fitted offsets are centred among themselves, so a class the validation split lacks
    (a user's own split, or a rare class) is not pushed down for being absent, nor the others
    up. Bias-corrected temperature scaling (Alexandari et al. 2020); what it does to accuracy
    and calibration is measured in ``benchmarks/RESULTS.md`` ("Bias-corrected temperature
    scaling")."""
    from scipy.optimize import minimize

    z = _check(logits, "bias-corrected temperature scaling")
    y = np.asarray(y, dtype=np.int64)
    n, k = z.shape
    onehot = np.zeros_like(z)
    onehot[np.arange(n), y] = 1.0
    free = np.bincount(y, minlength=k)[:k] >= min_rows
    strength = 1.0 / (n * prior_sd ** 2)

    def offsets_of(params: np.ndarray) -> np.ndarray:
        b = np.zeros(k)
        if len(params):  # no class with min_rows texts: the temperature alone
            b[free] = params - params.mean()
        return b

    def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
        inv_t, b = np.exp(-params[0]), offsets_of(params[1:])
        logp = log_softmax(z * inv_t + b, axis=1)
        d = (np.exp(logp) - onehot) / n  # d(mean NLL) / d(logits / T + b)
        value = float(-(logp * onehot).sum() / n + 0.5 * strength * (b ** 2).sum())
        grad_b = d.sum(0)[free] + strength * b[free]
        grad_log_t = float(-(d * z).sum() * inv_t)
        return value, np.concatenate([[grad_log_t], grad_b - grad_b.mean() if len(grad_b)
                                      else grad_b])

    bounds = [tuple(np.log(T_BOUNDS))] + [(None, None)] * int(free.sum())
    best = minimize(objective, np.zeros(int(free.sum()) + 1), jac=True, method="L-BFGS-B",
                    bounds=bounds)
    return float(np.exp(best.x[0])), offsets_of(best.x[1:])


def fit_label_temperatures(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One ``T`` per label (column) minimising the binary NLL of ``sigmoid(logits / T)`` against
    the 0/1 indicator matrix ``y`` (multi-label). A label with fewer than
    :data:`MIN_LABEL_ROWS` positive or negative rows keeps ``T = 1``: with one side missing the
    NLL falls as ``T`` shrinks, and the fitted ``T`` would make its next prediction certain."""
    from scipy.optimize import minimize_scalar

    z = _check(logits, "temperature scaling")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != z.shape:
        raise DataError(f"temperature scaling: indicator matrix shape {y.shape} does not match "
                        f"the logits {z.shape}")
    temps = np.ones(z.shape[1])
    for j in range(z.shape[1]):
        zj, yj = z[:, j], y[:, j]
        if min(int(yj.sum()), int(len(yj) - yj.sum())) < MIN_LABEL_ROWS:
            continue

        def nll(log_t: float, zj: np.ndarray = zj, yj: np.ndarray = yj) -> float:
            s = zj / np.exp(log_t)
            return float(-(yj * log_expit(s) + (1 - yj) * log_expit(-s)).mean())

        best = minimize_scalar(nll, bounds=tuple(np.log(T_BOUNDS)), method="bounded",
                               options={"xatol": 1e-4})
        temps[j] = float(np.exp(best.x))
    return temps


def softmax_at(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax probabilities of ``logits / temperature``."""
    return np.exp(log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1))


def sigmoid_at(logits: np.ndarray, temperatures: np.ndarray | float = 1.0) -> np.ndarray:
    """Per-label sigmoid probabilities of ``logits / temperatures`` (broadcast per column)."""
    return expit(np.asarray(logits, dtype=np.float64) / np.asarray(temperatures))


def reliability_bins(probs: np.ndarray, y: Sequence[int] | np.ndarray,
                     bins: int = ECE_BINS) -> list[dict]:
    """Per confidence bin (``bins`` equal-width bins of the top-label confidence): its range,
    count, mean confidence and accuracy (empty bins left out)."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y)
    conf = probs.max(1)
    correct = probs.argmax(1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(mask.sum()),
                        "confidence": float(conf[mask].mean()), "accuracy": float(correct[mask].mean())})
    return out


def expected_calibration_error(probs: np.ndarray, y: Sequence[int] | np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """ECE of the top-label confidence: the bin-weighted mean |accuracy − confidence| over the
    :func:`reliability_bins`."""
    return bins_ece(reliability_bins(probs, y, bins))


def bins_ece(bins: Sequence[dict]) -> float:
    """The ECE of reliability bins (count-weighted mean |accuracy − confidence|)."""
    total = sum(b["count"] for b in bins)
    return float(sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / max(total, 1))


def calibration_figures(probs: np.ndarray, y: Sequence[int] | np.ndarray) -> dict[str, float]:
    """``{"ece", "brier", "log_loss"}`` of single-label probabilities against classes ``y``."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(y)), y] = 1.0
    # as scikit-learn's log_loss clips, without its input checks: the callers pass softmax
    # outputs (a probability outside [0, 1] or nan gives an unchecked figure, not an error)
    eps = np.finfo(np.float64).eps
    true = np.clip(probs[np.arange(len(y)), y], eps, 1 - eps)
    return {"ece": expected_calibration_error(probs, y),
            "brier": float(((probs - onehot) ** 2).sum(1).mean()),
            "log_loss": float(-np.log(true).mean()) if len(y) else float("nan")}


def multilabel_calibration_figures(probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The same figures for independent per-label probabilities: each (text, label) cell is one
    binary prediction (ECE over the cells' confidence in their predicted side)."""
    p = np.clip(np.asarray(probs, dtype=np.float64).ravel(), 1e-12, 1 - 1e-12)
    t = np.asarray(y, dtype=np.float64).ravel()
    two = np.stack([1 - p, p], 1)
    return {"ece": expected_calibration_error(two, t.astype(np.int64)),
            "brier": float(((p - t) ** 2).mean()),
            "log_loss": float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())}


def plot_reliability(before: list[dict], after: list[dict] | None, out: str | Path,
                     title: str = "reliability") -> Path:
    """A reliability diagram: accuracy against confidence per bin, before (and after)
    calibration, with the diagonal of perfect calibration and the bin counts as bar widths."""
    from embedlab.training.plots import new_figure

    fig = new_figure((5.2, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], color="#888888", linestyle="--", linewidth=1, label="perfectly calibrated")
    for bins, name, colour in ((before, "before calibration", "#d62728"),
                               (after, "after calibration", "#1f77b4")):
        if bins:
            total = sum(b["count"] for b in bins)
            ece = bins_ece(bins)
            x = [b["confidence"] for b in bins]
            ax.plot(x, [b["accuracy"] for b in bins], color=colour, linewidth=1,
                    label=f"{name}: ECE {ece:.3f}")
            # marker area ∝ the bin's share of texts: a bin of a few texts is noisy
            ax.scatter(x, [b["accuracy"] for b in bins], color=colour, zorder=3,
                       s=[12 + 300 * b["count"] / total for b in bins])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the predicted class (marker area: share of texts)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    out = Path(out)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    return out
