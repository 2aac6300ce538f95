"""The report's tables as rows of strings, and those rows as Markdown, HTML and rich tables.

A table is a :class:`Table`: a header, rows of cells and, per column, whether it holds numbers
(numbers never wrap in the terminal and sort numerically in the HTML page) and how much it
matters (the terminal leaves out the least important columns first when it is too narrow). A
cell is a string, or a :class:`Link` (text and a relative address) in the per-run table.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from embedlab.experiments.report.statistics import METRIC_LABELS, MIN_PAIRS, QUALITY, Report, Stats


@dataclass(frozen=True)
class Link:
    text: str
    href: str


Cell = str | Link


@dataclass
class Table:
    head: list[str]
    rows: list[list[Cell]]
    numeric: list[bool]
    #: per column: higher stays longer on a narrow terminal (the first column always stays)
    priority: list[int] = field(default_factory=list)
    #: per column: a longer description (the HTML header's tooltip)
    titles: list[str] = field(default_factory=list)


def _fmt(x: float | None, digits: int = 4) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _pm(s: Stats, digits: int = 4, sign: bool = False) -> str:
    mean = f"{s.mean:+.{digits}f}" if sign else f"{s.mean:.{digits}f}"
    return f"{mean} ± {s.sd:.{digits}f}" if s.sd is not None else mean


def _text(c: Cell) -> str:
    return c.text if isinstance(c, Link) else c


def summary_rows(report: Report) -> list[dict]:
    """One row per cell: its grid factors, mean, sd, min, max, n of each metric (+ the
    published number and whether it is comparable)."""
    rows = []
    keys = factor_keys(report)
    for cell, stats in report.cells.items():
        row: dict = {"cell": cell, **{k: v for k, v in zip(keys, factor_values(report, cell))}}
        for metric, s in stats.items():
            row.update({f"{metric}_mean": s.mean, f"{metric}_sd": s.sd, f"{metric}_min": s.min,
                        f"{metric}_max": s.max})
        row["n"] = stats["accuracy"].n
        row[f"published_{report.grid.metric}"] = report.grid.published.get(cell)
        if report.grid.published:
            row["published_comparable"] = report.published_comparable
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- grid factors

def _dotted(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def factor_keys(report: Report) -> list[str]:
    """The dotted keys whose values differ between the report's cells (grid order)."""
    base = report.grid.base.model_dump(mode="json")
    cells = [c for c in report.grid.cells if c.name in report.cells]
    keys: list[str] = []
    for c in cells:
        keys += [k for k in c.updates if k not in keys]
    return [k for k in keys
            if len({repr(c.updates.get(k, _dotted(base, k))) for c in cells}) > 1]


def factor_values(report: Report, cell: str) -> list[str]:
    base = report.grid.base.model_dump(mode="json")
    c = next(x for x in report.grid.cells if x.name == cell)
    out = []
    for k in factor_keys(report):
        v = c.updates.get(k, _dotted(base, k))
        out.append("none" if v is None else str(v))
    return out


def _factor_heads(keys: list[str]) -> list[str]:
    """Each factor's last key part, or the whole key where two last parts are the same."""
    leaves = [k.rsplit(".", 1)[-1] for k in keys]
    return [leaf if leaves.count(leaf) == 1 else k for leaf, k in zip(leaves, keys)]


# ----------------------------------------------------------------------------- the tables

def _published_head(report: Report) -> str:
    if not report.published_comparable:
        return "published (not comparable)"
    return f"published {METRIC_LABELS[report.grid.metric]}"


def _published_cell(report: Report, cell: str) -> str:
    pub = report.grid.published.get(cell)
    if pub is None:
        return ""
    return f"{pub:.3f}" if report.published_comparable else f"({pub:.3f})"


def summary_table(report: Report, factors: bool = False) -> Table:
    """One row per cell. ``factors``: the grid's factors as their own columns first (the page
    and report.md); otherwise the cell's name first (the terminal)."""
    g = report.grid
    keys = factor_keys(report) if factors else []
    head = (_factor_heads(keys) if keys else ["cell"])
    titles = list(keys) if keys else ["cell name (--reference takes it)"]
    head += [METRIC_LABELS[m] + " mean ± sd" for m in QUALITY]
    head += [f"{METRIC_LABELS[g.metric]} min–max", "train s", "n"]
    numeric = [False] * (len(keys) or 1) + [True] * (len(QUALITY) + 3)
    priority = [9] * (len(keys) or 1) + [8 if m == g.metric else 3 for m in QUALITY] + [2, 1, 4]
    titles += ["mean ± sample sd over seeds/folds"] * len(QUALITY) + ["lowest–highest run", "", "runs"]
    if g.published:
        at = len(keys) or 1
        head.insert(at, _published_head(report))
        numeric.insert(at, True)
        priority.insert(at, 5)
        titles.insert(at, g.published_source or "published")
    rows: list[list[Cell]] = []
    for cell, s in report.cells.items():
        best = cell == report.best and len(report.cells) > 1
        first = factor_values(report, cell) if keys else [cell + (" (best)" if best else "")]
        row: list[Cell] = [*first, *(_pm(s[m]) for m in QUALITY),
                           f"{s[g.metric].min:.4f}–{s[g.metric].max:.4f}", _pm(s["train_seconds"], 2),
                           str(s["accuracy"].n)]
        if g.published:
            row.insert(len(first), _published_cell(report, cell))
        if keys:
            row.append(cell + (" (best)" if best else ""))
        rows.append(row)
    if keys:
        head.append("cell")
        numeric.append(False)
        priority.append(0)
        titles.append("cell name (--reference takes it)")
    return Table(head, rows, numeric, priority, titles)


def _p_cell(r: dict) -> str:
    if r["p_value"] is not None:
        return _fmt(r["p_value"], 3)
    if r["n"] < MIN_PAIRS:
        return f"withheld (n={r['n']})"
    return "—"


def paired_table(report: Report) -> Table:
    m = report.grid.metric
    head = ["cell", f"Δ {METRIC_LABELS[m]} mean ± sd", "Δ range", "better / worse", "paired t-test p",
            *(f"Δ {METRIC_LABELS[x]}" for x in QUALITY if x != m), "n pairs"]
    numeric = [False, True, True, True, True, True, True, True]
    priority = [9, 8, 2, 6, 7, 1, 1, 5]
    titles = ["", "cell − reference, matched by seed and fold", "", "pairs where the cell is better / worse",
              f"paired t-test; withheld below {MIN_PAIRS} pairs", "", "", ""]
    rows: list[list[Cell]] = []
    for r in report.comparison:
        s = r[m]
        rows.append([r["cell"], _pm(s, sign=True), f"{s.min:+.4f} to {s.max:+.4f}",
                     f"{r['wins']} / {r['losses']}", _p_cell(r),
                     *(_pm(r[x], sign=True) for x in QUALITY if x != m), str(r["n"])])
    return Table(head, rows, numeric, priority, titles)


def runs_table(report: Report, link_prefix: str = "../") -> Table:
    """One row per finished run: its factors, seed, fold, numbers, epochs and links to its run
    directory and config (relative to the report folder)."""
    keys = factor_keys(report)
    head = [*(_factor_heads(keys) if keys else ["cell"]), "seed"]
    has_folds = any(r.fold is not None for r in report.records)
    if has_folds:
        head.append("fold")
    head += [METRIC_LABELS[m] for m in QUALITY] + ["train s", "epochs", "run", "config"]
    rows: list[list[Cell]] = []
    for r in report.records:
        first = factor_values(report, r.cell) if keys else [r.cell]
        row: list[Cell] = [*first, str(r.seed)]
        if has_folds:
            row.append("" if r.fold is None else str(r.fold + 1))
        href = link_prefix + quote(r.key) + "/"
        row += [*(f"{r.values[m]:.4f}" for m in QUALITY), f"{r.values['train_seconds']:.2f}",
                str(len(r.history)), Link(r.key.removeprefix("runs/"), href),
                Link("config.yaml", href + "config.yaml")]
        rows.append(row)
    n_first = len(keys) or 1
    numeric = [False] * n_first + [True] * (len(head) - n_first - 2) + [False, False]
    return Table(head, rows, numeric, [5] * len(head), list(keys) if keys else [])


# ----------------------------------------------------------------------------- renderings

def markdown_table(t: Table) -> str:
    def cell(c: Cell) -> str:
        text = (f"[{c.text}]({c.href})" if isinstance(c, Link) else c)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(t.head) + " |",
             "|" + "".join("---:|" if n else "---|" for n in t.numeric)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in t.rows]
    return "\n".join(lines)


def _title(text: str) -> str:
    return f' title="{html.escape(text, quote=True)}"' if text else ""


def html_table(t: Table, caption: str = "") -> str:
    """A sortable table (click a header; the page's script sorts) in a horizontal-scroll box."""
    titles = t.titles + [""] * (len(t.head) - len(t.titles))
    th = "".join(f'<th scope="col" tabindex="0"{" class=num" if n else ""}{_title(ti)}>{html.escape(h)}</th>'
                 for h, n, ti in zip(t.head, t.numeric, titles))

    def td(c: Cell, num: bool) -> str:
        cls = ' class="num"' if num else ""
        if isinstance(c, Link):
            return f'<td{cls}><a href="{html.escape(c.href, quote=True)}">{html.escape(c.text)}</a></td>'
        return f"<td{cls}>{html.escape(c)}</td>"

    body = "".join("<tr>" + "".join(td(c, n) for c, n in zip(r, t.numeric)) + "</tr>" for r in t.rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<div class="scroll"><table class="sortable">{cap}<thead><tr>{th}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _widths(t: Table) -> list[int]:
    """Each column's narrowest width in a rich table: a number column (its header does not
    wrap either) its longest cell or header; a text column its longest word."""
    out = []
    for i, h in enumerate(t.head):
        cells = [_text(r[i]) for r in t.rows]
        if t.numeric[i]:
            out.append(max([len(h), *map(len, cells)]))
        else:
            out.append(max(len(w) for c in [h, *cells] for w in (c.split() or [""])))
    return out


def fit_columns(t: Table, width: int | None) -> tuple[Table, list[str]]:
    """``t`` with the least important columns left out until it fits ``width`` characters
    (the first column always stays); also the headers left out."""
    keep = list(range(len(t.head)))
    widths = _widths(t)
    prio = t.priority or [5] * len(t.head)
    dropped: list[str] = []
    while width is not None and len(keep) > 2 and sum(widths[i] + 3 for i in keep) + 1 > width:
        worst = min(keep[1:], key=lambda i: (prio[i], -i))
        keep.remove(worst)
        dropped.append(t.head[worst])
    pick = lambda xs: [xs[i] for i in keep] if xs else []  # noqa: E731
    return Table(pick(t.head), [pick(r) for r in t.rows], pick(t.numeric), pick(t.priority),
                 pick(t.titles)), dropped


class FittedTable:
    """A rich renderable that builds its table for the width it is printed at: numbers never
    wrap and are never cut (a narrow terminal gets fewer columns instead, named in the
    caption); names wrap (``fold``) rather than end in "…"."""

    def __init__(self, title: str, table: Table) -> None:
        self.title, self.table = title, table

    def build(self, width: int | None):
        from rich.table import Table as RichTable

        t, dropped = fit_columns(self.table, width)
        caption = (f"left out at this width: {', '.join(dropped)} (see report.md)" if dropped else None)
        rt = RichTable(title=self.title, caption=caption)
        widths = _widths(t)
        for h, num, w in zip(t.head, t.numeric, widths):
            rt.add_column(h, justify="right" if num else "left", no_wrap=num, min_width=w,
                          overflow="ellipsis" if num else "fold")
        for r in t.rows:
            rt.add_row(*(_text(c) for c in r))
        return rt

    def __rich_console__(self, console, options):
        yield self.build(options.max_width)


def console_table(report: Report) -> FittedTable:
    """The per-cell summary (what ``experiment report`` prints), fitted to the terminal."""
    return FittedTable(f"{report.grid.name}: {len(report.records)}/{report.expected_runs} runs",
                       summary_table(report))


def comparison_table(report: Report) -> FittedTable:
    """The paired comparison against the reference cell, fitted to the terminal."""
    return FittedTable(f"paired comparison against {report.reference}", paired_table(report))
