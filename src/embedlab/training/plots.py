"""PNG plots: normalised confusion matrix and learning curves.

Figures are built with :class:`matplotlib.figure.Figure` on an Agg canvas, never through pyplot:
no global backend switch and no figure registered with pyplot, so a notebook user's backend and
open figures are left as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def new_figure(figsize: tuple[float, float]):
    """A figure on its own Agg canvas (no pyplot, no process-wide backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def confusion_figure(cm: Sequence[Sequence[float]], classes: Sequence[str],
                     title: str = "Confusion matrix (share of the true class; count below)", title_size: float | None = None):
    """The confusion-matrix figure: rows = true class, coloured by the row's share; each cell
    shows the share and, below it, the count of texts (also used by experiment reports)."""
    counts = np.asarray(cm, dtype=np.float64)
    norm = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.5, 0.8 * len(classes) + 2.5)
    fig = new_figure((size, size))
    ax = fig.subplots()
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=title_size)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{norm[i, j]:.2f}\n{int(round(counts[i, j])):,}", ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=8, linespacing=1.3)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm: Sequence[Sequence[int]], classes: Sequence[str], out: str | Path,
                          title: str = "Confusion matrix (share of the true class; count below)") -> Path:
    """Write :func:`confusion_figure` as a PNG."""
    confusion_figure(cm, classes, title).savefig(out, dpi=100)
    return Path(out)


def plot_learning_curves(history: list[dict], out: str | Path) -> Path:
    """Write :func:`learning_curves_figure` as a PNG."""
    learning_curves_figure(history).savefig(out, dpi=100)
    return Path(out)


def learning_curves_figure(history: list[dict]):
    """Loss and accuracy per epoch, train vs validation; integer epoch ticks; a dashed line at
    the epoch whose weights were kept."""
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig = new_figure((10, 4))
    a1, a2 = fig.subplots(1, 2)
    for key, ax in (("loss", a1), ("acc", a2)):
        for split in ("train", "val"):
            vals = [h.get(f"{split}_{key}") for h in history]
            if any(v is not None for v in vals):
                ax.plot(epochs, vals, marker="o", label=split)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(key)
        if ax.get_lines():
            ax.legend()
        ax.grid(alpha=0.3)
    best = [h["epoch"] for h in history if h.get("best")]
    if best:
        a1.axvline(best[-1], color="gray", ls="--", lw=1, label=f"kept (epoch {best[-1]})")
        a1.legend()
    fig.tight_layout()
    return fig


def plot_pr_curves(y_true: np.ndarray, probs: np.ndarray, classes: Sequence[str],
                   thresholds: Sequence[float], out: str | Path, columns: int = 4) -> Path:
    """One precision-recall curve per label (scikit-learn's ``precision_recall_curve``), each
    with its chosen threshold marked (a dot at that threshold's precision and recall)."""
    from sklearn.metrics import precision_recall_curve

    y_true = np.asarray(y_true) > 0.5
    n = len(classes)
    rows = (n + columns - 1) // columns
    fig = new_figure((3.0 * columns, 2.6 * rows))
    for j, name in enumerate(classes):
        ax = fig.add_subplot(rows, columns, j + 1)
        if y_true[:, j].any():
            precision, recall, _ = precision_recall_curve(y_true[:, j], probs[:, j])
            ax.plot(recall, precision, lw=1.2)
            pred = probs[:, j] >= thresholds[j]
            tp = float((pred & y_true[:, j]).sum())
            p_at = tp / max(float(pred.sum()), 1.0)
            r_at = tp / float(y_true[:, j].sum())
            ax.plot([r_at], [p_at], "o", color="crimson", ms=5,
                    label=f"threshold {thresholds[j]:.2f}")
            ax.legend(loc="lower left", fontsize=7, frameon=False)
        else:
            ax.text(0.5, 0.5, "no positive example", ha="center", va="center", fontsize=8)
        ax.set_title(str(name), fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=7)
        if j % columns == 0:
            ax.set_ylabel("precision", fontsize=8)
        if j >= n - columns:
            ax.set_xlabel("recall", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=90, format="png")
    return out
