"""The report as a Markdown file and as one self-contained HTML page (plots as data URIs, the
tables sortable by an inline script: no file or script from the network)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import yaml

from embedlab.experiments.report.statistics import METRIC_LABELS, MIN_PAIRS, Report
from embedlab.experiments.report.tables import (
    html_table,
    markdown_table,
    paired_table,
    runs_table,
    summary_table,
)


def settings_lines(report: Report) -> list[str]:
    """What the runs were trained with, in words: the grid's source and the command line's
    changes to it (the page, report.md and the terminal show these first)."""
    g = report.grid
    where = f"grid: {g.source}; " if g.source != "grid" else ""
    if g.overrides is None:
        lines = [where + "what the command line changed was not recorded (an experiment run before "
                 "embedlab recorded it): compare the report's base config with the grid file before "
                 "reading the published numbers as comparable"]
    else:
        changes = ", ".join(f"{k}={v}" for k, v in g.overrides.items())
        lines = [where + (f"changed on the command line: {changes}" if changes
                          else "as written (nothing changed on the command line)")]
    if report.published_note:
        lines.append(report.published_note)
    return lines


def _base_yaml(report: Report) -> str:
    return yaml.safe_dump(report.grid.base.model_dump(mode="json"), sort_keys=False)


def _headline(report: Report) -> str:
    g = report.grid
    return (f"{len(report.cells)} cells × seeds {g.seeds}" + (f" × folds ({g.folds})" if g.folds else "")
            + f"; {len(report.records)} of {report.expected_runs} runs finished. Best cell by "
            f"{METRIC_LABELS[g.metric]}: ")


def _comparison_intro(report: Report) -> str:
    return (f"Differences (cell − reference) over runs with the same seed and fold. p-values "
            f"are shown from {MIN_PAIRS} pairs on.")


def to_markdown(report: Report, images: dict[str, str] | None = None) -> str:
    g = report.grid
    parts = [f"# Experiment: {g.name}", ""]
    if g.description:
        parts += [g.description, ""]
    lines = settings_lines(report)
    parts += ["## Settings", "", f"- {lines[0]}", *(f"- **Not comparable:** {n}." for n in lines[1:]), "",
              "<details><summary>base config of every cell</summary>", "", "```yaml",
              _base_yaml(report).rstrip(), "```", "", "</details>", ""]
    parts += [_headline(report) + f"**{report.best}**.", ""]
    parts += [markdown_table(summary_table(report, factors=True)), ""]
    if g.published:
        parts += [f"Published numbers: {g.published_source}" if g.published_source
                  else "Published numbers: as reported by the source of this experiment.", ""]
    if report.comparison:
        parts += [f"## Paired comparison against `{report.reference}`", "", _comparison_intro(report), "",
                  markdown_table(paired_table(report)), ""]
    parts += ["## Runs", "", markdown_table(runs_table(report)), ""]
    if report.notes:
        parts += ["## Notes", "", *(f"- {n}" for n in report.notes), ""]
    if images:
        parts += ["## Plots", "", *(f"![{k}]({v})" for k, v in images.items()), ""]
    return "\n".join(parts)


_STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em;max-width:1400px;color:#222}
h1{font-size:1.5em;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%;margin:.6em 0 1.2em}
table{border-collapse:collapse;font-size:.85em}
caption{text-align:left;color:#555;padding:.2em 0}
td,th{border:1px solid #ccc;padding:3px 6px;white-space:nowrap;text-align:left}
th{white-space:normal;min-width:3.5em;vertical-align:bottom}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f3f3f3;cursor:pointer;user-select:none;position:relative}
th:hover{background:#e6e6e6}
th[aria-sort=ascending]::after{content:" ▲";font-size:.7em}
th[aria-sort=descending]::after{content:" ▼";font-size:.7em}
.warn{background:#fff4e0;border-left:4px solid #e69500;padding:.5em .8em}
.settings{background:#f6f8fa;padding:.5em .8em}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.85em}
img{max-width:100%;height:auto}
figure{margin:1em 0}
"""

# click a header (or Enter on it): sort its column (numbers by value, empty cells last); again: reverse
_SORT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var ths = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(ths, function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(ths, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var t = row.cells[col].textContent.trim().replace(/^\\(/, "");
        var n = parseFloat(t);
        return isNaN(n) ? t : n;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === "" || y === "") { return x === "" ? 1 : -1; }
        var c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); th.click(); }
    });
  });
});
"""


def to_html(report: Report, images: dict[str, Path]) -> str:
    """One self-contained page: settings, sortable tables, notes and the plots as data URIs."""
    g = report.grid
    esc = html.escape
    imgs = "".join(
        f'<figure><img alt="{esc(k)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{esc(k)}</figcaption></figure>'
        for k, p in images.items())
    lines = settings_lines(report)
    settings = (f'<div class="settings" id="settings"><b>Settings.</b> {esc(lines[0])}'
                f"<details><summary>base config of every cell</summary><pre>{esc(_base_yaml(report))}"
                "</pre></details></div>")
    warn = (f'<p class="warn" id="not-comparable"><b>Not comparable:</b> {esc(report.published_note)}.</p>'
            if report.published_note else "")
    comp = ""
    if report.comparison:
        comp = (f"<h2>Paired comparison against {esc(str(report.reference))}</h2>"
                f"<p>{esc(_comparison_intro(report))}</p>" + html_table(paired_table(report)))
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    pub = f"<p>Published numbers: {esc(g.published_source)}</p>" if g.published_source else ""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(g.name)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>Experiment: {esc(g.name)}</h1><p>{esc(g.description)}</p>{settings}{warn}"
            f"<p>{esc(_headline(report))}<b>{esc(str(report.best))}</b>. Click a column's header to sort.</p>"
            + html_table(summary_table(report, factors=True), "per cell") + pub + comp
            + "<h2>Runs</h2>" + html_table(runs_table(report), "one row per run; links open its folder")
            + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "") + imgs
            + f"<script>{_SORT}</script></body></html>")
