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
