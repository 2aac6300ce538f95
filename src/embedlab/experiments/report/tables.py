"""The report's tables as rows of strings, and those rows as Markdown, HTML and rich tables."""

from __future__ import annotations

import html
import math

from embedlab.experiments.report.statistics import METRIC_LABELS, QUALITY, Report, Stats


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


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


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
