"""An experiment's report: per-cell statistics over seeds/folds, a paired comparison against a
reference cell (p-values from ``MIN_PAIRS`` pairs on), published numbers beside ours (marked not
comparable when the command line changed the grid); Markdown, CSV, self-contained HTML with
sortable tables, and PNG plots.

Statistics come from each run directory's ``metrics.json`` (the test split, or validation when
the data has no test split) and ``history.json``; ``sd`` is the sample standard deviation
(``ddof=1``), empty for a single run.

The package is split by idea: :mod:`.statistics` (records, per-cell statistics, the paired
comparison), :mod:`.tables` (rows, Markdown / HTML / rich tables), :mod:`.pages` (report.md and
report.html), :mod:`.plots` (PNG) and :mod:`.writers` (the report folder).
"""

from __future__ import annotations

from embedlab.experiments.report.pages import to_html, to_markdown
from embedlab.experiments.report.plots import (
    plot_best_confusion,
    plot_learning_curves,
    plot_metrics,
)
from embedlab.experiments.report.statistics import (
    METRIC_LABELS,
    MIN_PAIRS,
    QUALITY,
    Report,
    RunRecord,
    Stats,
    build_report,
    collect,
)
from embedlab.experiments.report.tables import comparison_table, console_table, summary_rows
from embedlab.experiments.report.writers import write_report

__all__ = ["METRIC_LABELS", "MIN_PAIRS", "QUALITY", "Report", "RunRecord", "Stats", "build_report",
           "collect", "comparison_table", "console_table", "plot_metrics", "plot_best_confusion",
           "plot_learning_curves", "summary_rows", "to_html", "to_markdown", "write_report"]
