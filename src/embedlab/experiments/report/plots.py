"""The report's PNG plots: metrics per cell, learning curves, the best cell's confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab.atomic import atomic_file
from embedlab.experiments.report.statistics import METRIC_LABELS, Report


def _save(fig, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path


def plot_bars(report: Report, path: Path) -> Path:
    """One panel per metric: each cell's mean with a ±sd error bar and its runs as dots."""
    from matplotlib.figure import Figure

    cells = list(report.cells)
    metrics = list(METRIC_LABELS)
    fig = Figure(figsize=(12, 2 * (0.9 + 0.32 * len(cells)) + 0.6))
    axes = fig.subplots(2, 2).ravel()
    for ax, metric in zip(axes, metrics):
        _bar_panel(ax, report, metric)
    fig.suptitle(f"{report.grid.name}: mean ± sd per cell (bars, orange = best by "
                 f"{METRIC_LABELS[report.grid.metric]}); dots: single runs", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _bar_panel(ax, report: Report, metric: str) -> None:
    """One metric: bars of the cells' means (±sd), their runs as dots, the published numbers."""
    cells = list(report.cells)
    y = np.arange(len(cells))
    means = [report.cells[c][metric].mean for c in cells]
    sds = [report.cells[c][metric].sd or 0.0 for c in cells]
    colors = ["tab:orange" if c == report.best else "tab:blue" for c in cells]
    ax.barh(y, means, xerr=sds, color=colors, alpha=0.75, capsize=3, ecolor="black")
    for i, c in enumerate(cells):
        vals = [r.values[metric] for r in report.records if r.cell == c]
        ax.plot(vals, [i] * len(vals), "o", ms=3.5, mfc="white", mec="black", mew=0.8, zorder=3)
    pub = [(report.grid.published[c], i) for i, c in enumerate(cells) if c in report.grid.published]
    if metric == report.grid.metric and pub:
        ax.plot([p for p, _ in pub], [i for _, i in pub], "D", color="tab:red", ms=5, label="published")
        ax.legend(loc="lower right", fontsize=7)
    if metric != "train_seconds":
        ax.set_xlim(0.0, 1.0)
    ax.set_title(METRIC_LABELS[metric], fontsize=10)
    ax.set_yticks(y, cells, fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)


def _curve(histories: list[list[dict]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    longest = max(len(h) for h in histories)
    epochs, means, sds = [], [], []
    for e in range(longest):
        vals = [h[e][key] for h in histories if len(h) > e and h[e].get(key) is not None]
        if vals:
            epochs.append(e + 1)
            means.append(np.mean(vals))
            sds.append(np.std(vals, ddof=1) if len(vals) > 1 else 0.0)
    return np.array(epochs), np.array(means), np.array(sds)


def _cell_curves(axes, histories: list[list[dict]], prefix: str, cell: str, color) -> None:
    """One cell's loss and accuracy per epoch: mean line and ±sd band over its runs."""
    for ax, key in zip(axes, (f"{prefix}_loss", f"{prefix}_acc")):
        x, m, s = _curve(histories, key)
        if len(x):
            ax.plot(x, m, marker="o", ms=3, color=color, label=cell)
            ax.fill_between(x, m - s, m + s, color=color, alpha=0.2)


def plot_learning_curves(report: Report, path: Path) -> Path:
    """Per cell, validation (or training) loss and accuracy per epoch: mean ± sd band over runs."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 4.5))
    axes = fig.subplots(1, 2)
    cmap = __import__("matplotlib").colormaps["tab20" if len(report.cells) > 10 else "tab10"]
    has_val = any("val_loss" in row for r in report.records for row in r.history)
    prefix = "val" if has_val else "train"
    for i, cell in enumerate(report.cells):
        hs = [r.history for r in report.records if r.cell == cell and r.history]
        if hs:
            _cell_curves(axes, hs, prefix, cell, cmap(i % cmap.N))
    for ax, what in zip(axes, ("loss", "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{'validation' if has_val else 'training'} {what}")
        ax.grid(alpha=0.3)
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.suptitle("learning curves: mean ± sd band over seeds/folds (runs that stopped early drop out)",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_best_confusion(report: Report, path: Path) -> Path:
    """The best cell's confusion matrix, summed over its runs and row-normalised."""
    from embedlab.training.plots import confusion_figure

    rs = [r for r in report.records if r.cell == report.best]
    cm = np.sum([np.asarray(r.confusion, dtype=np.float64) for r in rs], axis=0)
    runs = f"{len(rs)} runs summed" if len(rs) > 1 else "1 run"
    fig = confusion_figure(cm, rs[0].classes, f"best cell {report.best}\n({runs}, row-normalised)",
                           title_size=9)
    return _save(fig, path)
