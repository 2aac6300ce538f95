"""The report's PNG plots: metrics per cell (dot and whisker), learning curves (the same colour
per cell), the best cell's confusion matrix (shares and counts)."""

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


def cell_colors(report: Report) -> dict[str, tuple]:
    """One colour per cell, the same in every plot of the report (tab10, tab20 past 10 cells)."""
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if len(report.cells) > 10 else "tab10"]
    return {c: cmap(i % cmap.N) for i, c in enumerate(report.cells)}


def plot_metrics(report: Report, path: Path) -> Path:
    """One panel per metric, dot and whisker: each cell's mean (large dot) ± sd (whisker) and
    its single runs (small dots), on an axis zoomed to the numbers (not from 0), in the cell's
    colour; the published numbers as red diamonds (left out, with a line saying so, when they
    are not comparable)."""
    from matplotlib.figure import Figure

    cells = list(report.cells)
    fig = Figure(figsize=(12, 2 * (0.9 + 0.32 * len(cells)) + 0.8))
    axes = fig.subplots(2, 2).ravel()
    colors = cell_colors(report)
    for ax, metric in zip(axes, METRIC_LABELS):
        _dot_panel(ax, report, metric, colors)
    fig.suptitle(f"{report.grid.name}: mean ± sd per cell (whiskers), single runs as small dots; "
                 f"best by {METRIC_LABELS[report.grid.metric]} in bold. The axes are zoomed: "
                 "read the numbers, not the lengths", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _dot_panel(ax, report: Report, metric: str, colors: dict[str, tuple]) -> None:
    """One metric: per cell its mean ± sd and runs; published numbers on the grid's metric."""
    cells = list(report.cells)
    shown: list[float] = []
    note = ""
    for i, c in enumerate(cells):
        st = report.cells[c][metric]
        sd = st.sd or 0.0
        vals = [r.values[metric] for r in report.records if r.cell == c]
        ax.plot(vals, [i + 0.18] * len(vals), "o", ms=3, color=colors[c], alpha=0.55, zorder=2)
        ax.errorbar([st.mean], [i], xerr=[[sd], [sd]], fmt="o", ms=7, color=colors[c], capsize=4,
                    elinewidth=1.6, mec="black" if c == report.best else colors[c], zorder=3)
        shown += [*vals, st.mean - sd, st.mean + sd]
    pub = [(report.grid.published[c], i) for i, c in enumerate(cells) if c in report.grid.published]
    if metric == report.grid.metric and pub:
        if report.published_comparable:
            ax.plot([p for p, _ in pub], [i for _, i in pub], "D", color="tab:red", ms=5, label="published")
            shown += [p for p, _ in pub]
            ax.legend(loc="best", fontsize=7)
        else:
            note = "\n(published numbers left out: not comparable, the settings changed)"
    ax.set_title(METRIC_LABELS[metric] + note, fontsize=10)
    lo, hi = min(shown), max(shown)
    pad = max((hi - lo) * 0.08, 0.002 if metric != "train_seconds" else 0.05)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_yticks(range(len(cells)), cells, fontsize=8)
    for label, c in zip(ax.get_yticklabels(), cells):
        if c == report.best:
            label.set_fontweight("bold")
    ax.set_ylim(len(cells) - 0.5, -0.5)
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
    """Per cell, validation (or training) loss and accuracy per epoch: mean ± sd band over
    runs, in the cell's colour of the metrics plot; integer epoch ticks."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 4.5))
    axes = fig.subplots(1, 2)
    colors = cell_colors(report)
    has_val = any("val_loss" in row for r in report.records for row in r.history)
    prefix = "val" if has_val else "train"
    for cell in report.cells:
        hs = [r.history for r in report.records if r.cell == cell and r.history]
        if hs:
            _cell_curves(axes, hs, prefix, cell, colors[cell])
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
    """The best cell's confusion matrix, summed over its runs: row shares and counts."""
    from embedlab.training.plots import confusion_figure

    rs = [r for r in report.records if r.cell == report.best]
    cm = np.sum([np.asarray(r.confusion, dtype=np.float64) for r in rs], axis=0)
    runs = f"{len(rs)} runs summed" if len(rs) > 1 else "1 run"
    fig = confusion_figure(cm, rs[0].classes, f"best cell {report.best}\n({runs}; share of the row, count below)",
                           title_size=9)
    return _save(fig, path)


def _pooled_bins(bins_of_runs: list[list[dict]]) -> list[dict]:
    """Reliability bins of several runs pooled per confidence bin (count-weighted means)."""
    pooled: dict[float, dict] = {}
    for bins in bins_of_runs:
        for b in bins:
            acc = pooled.setdefault(b["low"], {"low": b["low"], "high": b["high"], "count": 0,
                                               "confidence": 0.0, "accuracy": 0.0})
            acc["count"] += b["count"]
            acc["confidence"] += b["confidence"] * b["count"]
            acc["accuracy"] += b["accuracy"] * b["count"]
    return [{**b, "confidence": b["confidence"] / b["count"], "accuracy": b["accuracy"] / b["count"]}
            for _, b in sorted(pooled.items()) if b["count"]]


def plot_best_reliability(report: Report, path: Path) -> Path | None:
    """The best cell's reliability diagram before and after calibration, its runs' bins
    pooled; None when its runs fitted no calibration (no validation split)."""
    from embedlab.decisions.calibration import plot_reliability

    rs = [r for r in report.records if r.cell == report.best]
    found = [r.decisions for r in rs if r.decisions and r.decisions.get("reliability_before")]
    if not found:
        return None
    runs = f"{len(found)} runs pooled" if len(found) > 1 else "1 run"
    return plot_reliability(_pooled_bins([d["reliability_before"] for d in found]),
                            _pooled_bins([d["reliability_after"] for d in found]), path,
                            f"best cell {report.best}: reliability on {rs[0].split} ({runs})")
