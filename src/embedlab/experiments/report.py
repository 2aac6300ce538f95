"""An experiment's report: per-cell statistics over seeds/folds, a paired comparison against a
reference cell, published numbers beside ours; Markdown, CSV, self-contained HTML and PNG plots.

Statistics come from each run directory's ``metrics.json`` (the test split, or validation when
the data has no test split) and ``history.json``; ``sd`` is the sample standard deviation
(``ddof=1``), empty for a single run.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embedlab.atomic import atomic_file
from embedlab.errors import ArtifactError
from embedlab.experiments.grid import Grid
from embedlab.experiments.runner import read_manifest

METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro F1", "weighted_f1": "weighted F1",
                 "train_seconds": "train time (s)"}
QUALITY = ("accuracy", "macro_f1", "weighted_f1")


@dataclass
class RunRecord:
    """One finished run's numbers."""

    cell: str
    seed: int
    fold: int | None
    split: str
    values: dict[str, float]
    history: list[dict]
    confusion: list[list[int]]
    classes: list[str]
    notes: list[str]


@dataclass
class Stats:
    mean: float
    sd: float | None
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        a = np.asarray(values, dtype=np.float64)
        sd = float(a.std(ddof=1)) if len(a) > 1 else None
        return cls(float(a.mean()), sd, float(a.min()), float(a.max()), len(a))


@dataclass
class Report:
    """Everything the report files show."""

    grid: Grid
    records: list[RunRecord]
    cells: dict[str, dict[str, Stats]]
    comparison: list[dict]
    best: str | None
    reference: str | None
    expected_runs: int
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _values(metrics: dict) -> tuple[str, dict[str, float]]:
    split = "test" if "test" in metrics else "validation"
    m = metrics[split]
    return split, {"accuracy": float(m["accuracy"]), "macro_f1": float(m["macro"]["f1"]),
                   "weighted_f1": float(m["weighted"]["f1"]),
                   "train_seconds": float(metrics["train"]["seconds"])}


def collect(out: str | Path) -> tuple[Grid, list[RunRecord], int]:
    """The grid, the finished runs' records (grid order), and how many runs the grid has."""
    out = Path(out)
    manifest = read_manifest(out)
    grid = Grid.from_dict(manifest["grid"])
    specs = grid.runs()
    records = []
    for spec in specs:
        if spec.key not in manifest["runs"]:
            continue
        run_dir = out / spec.key
        try:
            metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
            history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ArtifactError(f"{run_dir}: cannot read the run's metrics ({e})") from None
        split, values = _values(metrics)
        m = metrics[split]
        records.append(RunRecord(spec.cell, spec.seed, spec.fold, split, values, history,
                                 m["confusion_matrix"], m["classes"],
                                 list(metrics.get("data", {}).get("notes", []))))
    return grid, records, len(specs)


def _paired(grid: Grid, records: list[RunRecord], reference: str) -> list[dict]:
    """Per cell: differences to the reference cell over matching (seed, fold) runs."""
    from scipy import stats

    by_cell: dict[str, dict[tuple, RunRecord]] = {}
    for r in records:
        by_cell.setdefault(r.cell, {})[(r.seed, r.fold)] = r
    ref = by_cell.get(reference, {})
    rows = []
    for cell in grid.cells:
        if cell.name == reference or cell.name not in by_cell:
            continue
        keys = sorted(set(ref) & set(by_cell[cell.name]), key=lambda k: (k[0], -1 if k[1] is None else k[1]))
        if not keys:
            continue
        row: dict = {"cell": cell.name, "reference": reference, "n": len(keys)}
        for metric in QUALITY:
            d = np.array([by_cell[cell.name][k].values[metric] - ref[k].values[metric] for k in keys])
            row[metric] = Stats.of(d.tolist())
            if metric == grid.metric:
                row["wins"] = int((d > 0).sum())
                row["losses"] = int((d < 0).sum())
                p = None
                if len(d) > 1 and np.ptp(d) > 0:
                    p = float(stats.ttest_rel([by_cell[cell.name][k].values[metric] for k in keys],
                                              [ref[k].values[metric] for k in keys]).pvalue)
                row["p_value"] = p
        rows.append(row)
    return rows


def build_report(out: str | Path, reference: str | None = None) -> Report:
    """Aggregate a (possibly unfinished) experiment folder."""
    grid, records, expected = collect(out)
    if not records:
        raise ArtifactError(f"{out}: no finished runs yet; run `embedlab experiment run` first")
    cells: dict[str, dict[str, Stats]] = {}
    for cell in grid.cells:
        rs = [r for r in records if r.cell == cell.name]
        if rs:
            cells[cell.name] = {k: Stats.of([r.values[k] for r in rs]) for k in METRIC_LABELS}
    best = max(cells, key=lambda c: cells[c][grid.metric].mean)
    names = [c.name for c in grid.cells]
    reference = reference or grid.reference or names[0]
    if reference not in names:
        from embedlab.errors import ConfigError, suggest

        raise ConfigError(f"reference cell '{reference}' is not a cell{suggest(reference, names)}; "
                          f"cells: {', '.join(names)}")
    notes = list(grid.notes)
    for r in records:
        for n in r.notes:
            if not n.startswith("cross-validation fold") and n not in notes:
                notes.append(n)
    if len(records) < expected:
        notes.append(f"unfinished experiment: {len(records)} of {expected} runs are done")
    splits = sorted({r.split for r in records})
    notes.append(f"metrics on the {' / '.join(splits)} split"
                 + (" (each fold's held-out part)" if any(r.fold is not None for r in records) else ""))
    return Report(grid, records, cells, _paired(grid, records, reference), best, reference,
                  expected, notes)


# ----------------------------------------------------------------------------- formatting

def _fmt(x: float | None, digits: int = 4) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _pm(s: Stats, digits: int = 4, sign: bool = False) -> str:
    mean = f"{s.mean:+.{digits}f}" if sign else f"{s.mean:.{digits}f}"
    return f"{mean} ± {s.sd:.{digits}f}" if s.sd is not None else mean


def summary_rows(report: Report) -> list[dict]:
    """One row per cell: mean, sd, min, max, n of each metric (+ the published number)."""
    rows = []
    for cell, stats in report.cells.items():
        row: dict = {"cell": cell}
        for metric, s in stats.items():
            row.update({f"{metric}_mean": s.mean, f"{metric}_sd": s.sd, f"{metric}_min": s.min,
                        f"{metric}_max": s.max})
        row["n"] = stats["accuracy"].n
        row[f"published_{report.grid.metric}"] = report.grid.published.get(cell)
        rows.append(row)
    return rows


def _table_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    g = report.grid
    head = ["cell", *(METRIC_LABELS[m] + " mean ± sd" for m in QUALITY),
            f"{METRIC_LABELS[g.metric]} min–max", "train s", "n"]
    if g.published:
        head.insert(1, f"published {METRIC_LABELS[g.metric]}")
    rows = []
    for cell, s in report.cells.items():
        row = [cell + (" (best)" if cell == report.best and len(report.cells) > 1 else ""), *(_pm(s[m]) for m in QUALITY),
               f"{s[g.metric].min:.4f}–{s[g.metric].max:.4f}", _pm(s["train_seconds"], 2), str(s["accuracy"].n)]
        if g.published:
            pub = g.published.get(cell)
            row.insert(1, f"{pub:.3f}" if pub is not None else "")
        rows.append(row)
    return head, rows


def _comparison_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    m = report.grid.metric
    head = ["cell", f"Δ {METRIC_LABELS[m]} mean ± sd", "Δ range", "better / worse", "paired t-test p",
            *(f"Δ {METRIC_LABELS[x]}" for x in QUALITY if x != m), "n pairs"]
    rows = []
    for r in report.comparison:
        s = r[m]
        rows.append([r["cell"], _pm(s, sign=True), f"{s.min:+.4f} to {s.max:+.4f}",
                     f"{r['wins']} / {r['losses']}", _fmt(r["p_value"], 3),
                     *(_pm(r[x], sign=True) for x in QUALITY if x != m), str(r["n"])])
    return head, rows


def _markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def to_markdown(report: Report, images: dict[str, str] | None = None) -> str:
    g = report.grid
    parts = [f"# Experiment: {g.name}", ""]
    if g.description:
        parts += [g.description, ""]
    n_runs = len(report.records)
    parts += [f"{len(report.cells)} cells × seeds {g.seeds}"
              + (f" × folds ({g.folds})" if g.folds else "")
              + f"; {n_runs} of {report.expected_runs} runs finished. Best cell by "
              f"{METRIC_LABELS[g.metric]}: **{report.best}**.", ""]
    parts += [_markdown_table(*_table_rows(report)), ""]
    if g.published:
        parts += [f"Published numbers: {g.published_source}" if g.published_source
                  else "Published numbers: as reported by the source of this experiment.", ""]
    if report.comparison:
        parts += [f"## Paired comparison against `{report.reference}`", "",
                  "Differences (cell − reference) over runs with the same seed and fold.", "",
                  _markdown_table(*_comparison_rows(report)), ""]
    if report.notes:
        parts += ["## Notes", "", *(f"- {n}" for n in report.notes), ""]
    if images:
        parts += ["## Plots", "", *(f"![{k}]({v})" for k, v in images.items()), ""]
    return "\n".join(parts)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: Report, images: dict[str, Path]) -> str:
    """One self-contained page: tables, notes and the plots embedded as data URIs."""
    g = report.grid
    imgs = "".join(
        f'<figure><img alt="{html.escape(k)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{html.escape(k)}</figcaption></figure>'
        for k, p in images.items())
    comp = ""
    if report.comparison:
        comp = (f"<h2>Paired comparison against {html.escape(str(report.reference))}</h2>"
                "<p>Differences (cell − reference) over runs with the same seed and fold.</p>"
                + _html_table(*_comparison_rows(report)))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    pub = f"<p>Published numbers: {html.escape(g.published_source)}</p>" if g.published_source else ""
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;white-space:nowrap;"
             "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
             "img{max-width:100%}figure{margin:1em 0}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(g.name)}</title>"
            f"<style>{style}</style></head><body><h1>Experiment: {html.escape(g.name)}</h1>"
            f"<p>{html.escape(g.description)}</p><p>{len(report.records)} of {report.expected_runs} runs "
            f"finished; best cell by {METRIC_LABELS[g.metric]}: <b>{html.escape(str(report.best))}</b></p>"
            + _html_table(*_table_rows(report)) + pub + comp
            + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "") + imgs + "</body></html>")


# ----------------------------------------------------------------------------- plots

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
    y = np.arange(len(cells))
    for ax, metric in zip(axes, metrics):
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
    fig.suptitle(f"{report.grid.name}: mean ± sd per cell (bars, orange = best by "
                 f"{METRIC_LABELS[report.grid.metric]}); dots: single runs", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


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
        if not hs:
            continue
        for ax, key in zip(axes, (f"{prefix}_loss", f"{prefix}_acc")):
            x, m, s = _curve(hs, key)
            if len(x):
                color = cmap(i % cmap.N)
                ax.plot(x, m, marker="o", ms=3, color=color, label=cell)
                ax.fill_between(x, m - s, m + s, color=color, alpha=0.2)
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


# ----------------------------------------------------------------------------- writing

def write_report(out: str | Path, reference: str | None = None) -> Report:
    """Write ``<out>/report/``: report.md, report.html, summary.csv, comparison.csv, report.json
    and the PNG plots; return the report."""
    out = Path(out)
    report = build_report(out, reference)
    folder = out / "report"
    folder.mkdir(exist_ok=True)
    images = {
        "metrics per cell": plot_bars(report, folder / "metrics.png"),
        "learning curves": plot_learning_curves(report, folder / "learning_curves.png"),
        "confusion matrix of the best cell": plot_best_confusion(report, folder / "confusion_best.png"),
    }
    with atomic_file(folder / "report.md") as tmp:
        tmp.write_text(to_markdown(report, {k: p.name for k, p in images.items()}), encoding="utf-8")
    with atomic_file(folder / "report.html") as tmp:
        tmp.write_text(to_html(report, images), encoding="utf-8")
    rows = summary_rows(report)
    with atomic_file(folder / "summary.csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with atomic_file(folder / "comparison.csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["cell", "reference", "metric", "diff_mean", "diff_sd", "diff_min", "diff_max", "n"])
        for r in report.comparison:
            for m in QUALITY:
                s = r[m]
                w.writerow([r["cell"], r["reference"], m, s.mean, s.sd, s.min, s.max, s.n])
    data = {"name": report.grid.name, "metric": report.grid.metric, "best": report.best,
            "reference": report.reference, "runs": len(report.records), "expected_runs": report.expected_runs,
            "cells": {c: {m: vars(s) for m, s in st.items()} for c, st in report.cells.items()},
            "published": report.grid.published,
            "comparison": [{k: (vars(v) if isinstance(v, Stats) else v) for k, v in r.items()}
                           for r in report.comparison],
            "notes": report.notes}
    with atomic_file(folder / "report.json") as tmp:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    report.files = [folder / n for n in ("report.md", "report.html", "summary.csv", "comparison.csv",
                                         "report.json")] + list(images.values())
    return report


def _rich_table(title: str, head: list[str], rows: list[list[str]]):
    """A rich Table whose cells wrap (``fold``) rather than end in "…" on a narrow terminal:
    a cell name or a number cut short would be unreadable."""
    from rich.table import Table

    t = Table(title=title)
    for i, h in enumerate(head):
        t.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
    for r in rows:
        t.add_row(*r)
    return t


def console_table(report: Report):
    """A rich Table of the per-cell summary (what ``experiment report`` prints)."""
    return _rich_table(f"{report.grid.name}: {len(report.records)}/{report.expected_runs} runs",
                       *_table_rows(report))


def comparison_table(report: Report):
    """A rich Table of the paired comparison against the reference cell."""
    return _rich_table(f"paired comparison against {report.reference}", *_comparison_rows(report))
