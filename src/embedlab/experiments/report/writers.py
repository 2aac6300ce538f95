"""Writing ``<experiment>/report/``: every file atomically, the plots first."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from embedlab.atomic import atomic_file
from embedlab.experiments.report.pages import to_html, to_markdown
from embedlab.experiments.report.plots import (
    plot_best_confusion,
    plot_best_reliability,
    plot_learning_curves,
    plot_metrics,
)
from embedlab.experiments.report.statistics import MIN_PAIRS, QUALITY, Report, Stats, build_report
from embedlab.experiments.report.tables import summary_rows


def write_report(out: str | Path, reference: str | None = None) -> Report:
    """Write ``<out>/report/``: report.md, report.html, summary.csv, comparison.csv, report.json
    and the PNG plots; return the report."""
    out = Path(out)
    report = build_report(out, reference)
    folder = out / "report"
    folder.mkdir(exist_ok=True)
    images = {
        "metrics per cell": plot_metrics(report, folder / "metrics.png"),
        "learning curves": plot_learning_curves(report, folder / "learning_curves.png"),
        "confusion matrix of the best cell": plot_best_confusion(report, folder / "confusion_best.png"),
    }
    reliability = plot_best_reliability(report, folder / "reliability_best.png")
    if reliability is not None:
        images["reliability of the best cell (calibration)"] = reliability
    with atomic_file(folder / "report.md") as tmp:
        tmp.write_text(to_markdown(report, {k: p.name for k, p in images.items()}), encoding="utf-8")
    with atomic_file(folder / "report.html") as tmp:
        tmp.write_text(to_html(report, images), encoding="utf-8")
    _write_csv(folder / "summary.csv", report)
    _write_comparison_csv(folder / "comparison.csv", report)
    with atomic_file(folder / "report.json") as tmp:
        tmp.write_text(json.dumps(report_data(report), indent=1), encoding="utf-8")
    report.files = [folder / n for n in ("report.md", "report.html", "summary.csv", "comparison.csv",
                                         "report.json")] + list(images.values())
    return report


def _write_csv(path: Path, report: Report) -> None:
    """summary.csv: one row per cell (see :func:`summary_rows`)."""
    rows = summary_rows(report)
    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _write_comparison_csv(path: Path, report: Report) -> None:
    """comparison.csv: per cell and metric, the differences to the reference cell."""
    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["cell", "reference", "metric", "diff_mean", "diff_sd", "diff_min", "diff_max", "n"])
        for r in report.comparison:
            for m in QUALITY:
                s = r[m]
                w.writerow([r["cell"], r["reference"], m, s.mean, s.sd, s.min, s.max, s.n])


def report_data(report: Report) -> dict:
    """What report.json holds: the settings (the grid's source, the command line's overrides,
    the base config), the per-cell statistics, the published numbers and whether they are
    comparable, the comparison (``p_value`` null below ``min_pairs_for_p`` pairs, ``p_note``
    says why) and the notes."""
    g = report.grid
    return {"name": g.name, "metric": g.metric, "best": report.best,
            "source": g.source, "overrides": g.overrides, "base": g.base.model_dump(mode="json"),
            "reference": report.reference, "runs": len(report.records),
            "expected_runs": report.expected_runs,
            "cells": {c: {m: vars(s) for m, s in st.items()} for c, st in report.cells.items()},
            "published": g.published,
            "published_comparable": report.published_comparable if g.published else None,
            "published_note": report.published_note, "min_pairs_for_p": MIN_PAIRS,
            "comparison": [{k: (vars(v) if isinstance(v, Stats) else v) for k, v in r.items()}
                           for r in report.comparison],
            "notes": report.notes}
