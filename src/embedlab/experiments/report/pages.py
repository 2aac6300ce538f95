"""The report as a Markdown file and as one self-contained HTML page (plots as data URIs)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from embedlab.experiments.report.statistics import METRIC_LABELS, Report
from embedlab.experiments.report.tables import (
    _comparison_rows,
    _html_table,
    _markdown_table,
    _table_rows,
)


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
