"""Explanations as HTML: no CDN, no script bundle, opens offline.

* :func:`render_html` ``(explanation) -> str`` — one explanation as a self-contained ``<section>``
  (inline styles only, so it can be dropped into any page, e.g. the serving web page): the text
  with each token highlighted by score (diverging colours and a legend), a probability bar for
  every class, the ranked tokens / n-grams, notes. The explanation's JSON rides along in a
  ``<script type="application/json">`` data block (data, never run), so a saved page can be read
  back with :func:`explanations_from_html`.
* :func:`render_html_page` ``(explanations) -> str`` — a whole page with one section per text.
* :func:`render_global_html` ``(report) -> str`` — a global explanation: per class, its terms
  with a bar for their mean contribution (red for the class, blue against).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from embedlab.explain.attention import LABEL as ATTENTION_LABEL
from embedlab.explain.colours import (
    AGAINST,
    ATTENTION,
    FADE,
    FOR,
    FULL_AT_UNIFORM,
    css,
    scale_of,
    strengths,
    tint,
    uniform_note,
)
from embedlab.explain.explanation import Explanation

if TYPE_CHECKING:
    from embedlab.explain.global_ import GlobalExplanation

_DATA = re.compile(
    r'<script type="application/json" class="embedlab-explanation">(.*?)</script>', re.DOTALL)


_rgb = css


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _highlighted(e: Explanation) -> str:
    out, cursor = [], 0
    for t, a in zip(e.tokens, strengths(e)):
        if t.start < cursor or t.end <= t.start:
            continue
        out.append(_esc(e.text[cursor:t.start]))
        surface = _esc(e.text[t.start:t.end])
        tip = _esc(f"{t.token}: {t.score:+.4f} ({t.status})")
        if t.status == "cut":
            out.append(f'<span title="{tip}" style="color:#999;text-decoration:line-through">'
                       f"{surface}</span>")
        else:
            rgb = tint(a, e.score_kind)
            bg = f"background:{_rgb(rgb)};" if rgb else ""
            if rgb and abs(a) > 0.6:
                bg += "color:#fff;"
            line = "border-bottom:1px dashed #555;" if t.status == "unknown" else ""
            out.append(f'<span title="{tip}" style="{bg}{line}padding:1px 2px;'
                       f'border-radius:3px">{surface}</span>')
        cursor = t.end
    out.append(_esc(e.text[cursor:]))
    return "".join(out)


def _legend(e: Explanation) -> str:
    scale = scale_of(e)
    if e.score_kind == "attention":
        n = max(len(e.seen), 1)
        gradient = f"linear-gradient(to right,#fff,{_rgb(ATTENTION)})"
        left, right = f"≤ 1/{n}", f"≥ {min(FULL_AT_UNIFORM / n, 1):.3g}"
        caption = f"<b>{_esc(ATTENTION_LABEL)}</b> · {_esc(uniform_note(e))}"
    else:
        gradient = f"linear-gradient(to right,{_rgb(AGAINST)},#fff,{_rgb(FOR)})"
        left, right = f"−{scale:.3g}", f"+{scale:.3g}"
        caption = (f"blue: against <b>{_esc(e.explained)}</b> · red: for it · white: under "
                   f"{FADE:g} of the largest |score| · "
                   '<span style="border-bottom:1px dashed #555">dashed</span>: unknown word · '
                   '<span style="color:#999;text-decoration:line-through">struck out</span>: '
                   "cut (beyond the model's window)")
    return (
        '<div style="margin:6px 0 10px;font-size:12px;color:#333">'
        f'<div style="display:flex;align-items:center;gap:6px"><span>{left}</span>'
        f'<span style="display:inline-block;width:180px;height:10px;background:{gradient};'
        f'border:1px solid #ccc"></span><span>{right}</span></div><div>{caption}</div>'
        f'<div style="color:#777">scores: {_esc(e.units)}</div></div>')


def _bars(e: Explanation) -> str:
    rows = []
    for name, p in sorted(e.probabilities.items(), key=lambda kv: -kv[1]):
        colour = "#2b8a3e" if name == e.predicted else "#868e96"
        mark = " ← explained" if name == e.explained and e.explained != e.predicted else ""
        rows.append(
            '<div style="display:flex;align-items:center;gap:8px;margin:2px 0">'
            f'<span style="width:140px;overflow:hidden;text-overflow:ellipsis;'
            f'white-space:nowrap">{_esc(name)}</span>'
            '<span style="flex:0 0 220px;background:#eee;height:12px;border-radius:2px">'
            f'<span style="display:block;width:{100 * p:.1f}%;height:12px;background:{colour};'
            f'border-radius:2px"></span></span><span>{p:.3f}{_esc(mark)}</span></div>')
    return "".join(rows)


def _score(value: float, kind: str) -> str:
    colour = _rgb(ATTENTION) if kind == "attention" else (_rgb(FOR) if value > 0 else _rgb(AGAINST))
    text = f"{value:.4f}" if kind == "attention" else f"{value:+.4f}"
    return f'<span style="color:{colour};font-variant-numeric:tabular-nums">{text}</span>'


def _ranked(e: Explanation, top: int) -> str:
    """The ranked list: tokens (cnn ``ngrams``: n-grams) by |score|, for and against alike."""
    items = []
    if e.ngrams and e.method == "ngrams":
        title = "n-grams chosen by max-pooling, by |score|"
        for g in e.top_ngrams(top):
            items.append(f"<li><code>{_esc(e.text[g.start:g.end])}</code> "
                         f"{_score(g.score, e.score_kind)} "
                         f'<span style="color:#777">({g.filters} filters)</span></li>')
    else:
        title = ("top tokens by |score| (+ for, − against)" if e.score_kind != "attention"
                 else "highest attention weights")
        for t in e.top_tokens(top):
            items.append(f"<li><code>{_esc(e.text[t.start:t.end] or t.token)}</code> "
                         f"{_score(t.score, e.score_kind)}</li>")
        if e.ngrams:
            for g in e.top_ngrams(5):
                items.append(f"<li>n-gram <code>{_esc(g.text)}</code> "
                             f"{_score(g.score, e.score_kind)}</li>")
    return (f'<div style="font-weight:bold;margin-top:8px">{_esc(title)}</div>'
            f'<ol style="margin:4px 0 0 18px;padding:0">{"".join(items)}</ol>')


def render_html(e: Explanation, top: int = 10) -> str:
    """One explanation as a self-contained HTML ``<section>`` (inline styles, no scripts run)."""
    settings = ", ".join(f"{k}={v}" for k, v in e.settings.items() if k != "label")
    head = (f"predicted <b>{_esc(e.predicted)}</b> "
            f"(p={e.probabilities.get(e.predicted, 0.0):.3f})")
    if e.explained != e.predicted:
        head += f" · explaining <b>{_esc(e.explained)}</b> (p={e.probability:.3f})"
    head += f" · method <b>{_esc(e.method)}</b>"
    if settings:
        head += f' <span style="color:#777">({_esc(settings)})</span>'
    extra = ""
    if e.delta is not None:
        extra += (f'<div style="color:#777;font-size:12px">convergence delta {e.delta:+.2e}'
                  "</div>")
    for note in e.notes:
        extra += f'<div style="color:#8a6d3b;font-size:13px">note: {_esc(note)}</div>'
    # every "<" as \u003c: nothing in the data block can close it or open a comment
    data = e.to_json().replace("<", "\\u003c")
    return (
        '<section class="embedlab-explanation" style="font-family:system-ui,sans-serif;'
        'border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:12px 0;'
        'max-width:900px;color:#111;background:#fff">'
        f'<div style="font-size:14px">{head}</div>{_legend(e)}'
        f'<div style="font-size:17px;line-height:1.9;white-space:pre-wrap">{_highlighted(e)}'
        f'</div><div style="display:flex;gap:40px;flex-wrap:wrap;margin-top:10px">'
        f'<div><div style="font-weight:bold">class probabilities</div>{_bars(e)}</div>'
        f"<div>{_ranked(e, top)}</div></div>{extra}"
        f'<script type="application/json" class="embedlab-explanation">{data}</script>'
        "</section>")


def render_html_page(explanations: Sequence[Explanation], title: str = "embedlab explain") -> str:
    """A complete offline HTML page with one section per explanation."""
    body = "\n".join(render_html(e) for e in explanations)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_esc(title)}</title>"
        "<style>body{margin:24px;background:#f8f9fa}h1{font:600 20px system-ui,sans-serif}"
        "code{background:#f1f3f5;padding:0 3px;border-radius:3px}</style></head>"
        f"<body><h1>{_esc(title)}</h1>\n{body}\n</body></html>\n")


def explanations_from_html(page: str) -> list[Explanation]:
    """Read back the explanations a page or section written by this module carries."""
    return [Explanation.from_json(m.group(1)) for m in _DATA.finditer(page)]


def _global_rows(terms: list, limit: float) -> str:
    rows = []
    for term, mean, n, texts in terms:
        colour = _rgb(FOR) if mean > 0 else _rgb(AGAINST)
        width = 50 * abs(mean) / limit
        left = 50 if mean > 0 else 50 - width
        rows.append(
            f"<tr><td><code>{_esc(str(term))}</code></td>"
            '<td style="width:240px"><div style="position:relative;height:12px;background:#f1f3f5">'
            '<div style="position:absolute;left:50%;top:0;bottom:0;border-left:1px solid #888">'
            f'</div><div style="position:absolute;left:{left:.1f}%;width:{width:.1f}%;'
            f'height:12px;background:{colour}"></div></div></td>'
            f"<td>{_score(mean, 'attribution')}</td><td>{n}</td><td>{texts}</td></tr>")
    return "".join(rows)


def render_global_html(report: GlobalExplanation) -> str:
    """A complete offline HTML page of a global explanation (one table per class)."""
    limit = max((abs(t[1]) for v in report.classes.values() for t in v), default=1.0) or 1.0
    sections = []
    for c, terms in report.classes.items():
        body = (_global_rows(terms, limit) if terms else
                f'<tr><td colspan="5" style="color:#777">no term seen {report.min_count}+ '
                "times in this class's texts</td></tr>")
        sections.append(
            f'<section class="embedlab-global-class"><h2>{_esc(c)} '
            f'<span style="color:#777;font-weight:400">({report.predicted.get(c, 0)} texts '
            "predicted)</span></h2><table><tr><th>term</th><th>− against · for +</th>"
            f"<th>mean</th><th>occurrences</th><th>texts</th></tr>{body}</table></section>")
    widths = ""
    if report.widths:
        items = "".join(f"<li>width {_esc(k)}: " + ", ".join(
            f"<code>{_esc(str(g))}</code> ({n})" for g, n in grams) + "</li>"
            for k, grams in report.widths.items())
        widths = ("<h2>most-chosen n-grams per filter width (times chosen by max-pooling)</h2>"
                  f"<ul>{items}</ul>")
    title = f"{report.model} on {report.data}: global explanation"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>body{{margin:24px;background:#f8f9fa;"
        "font:14px system-ui,sans-serif;color:#111}h1{font-size:20px}h2{font-size:16px}"
        "section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;"
        "margin:10px 0;max-width:760px;overflow-x:auto}table{border-collapse:collapse}"
        "td,th{padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        "code{background:#f1f3f5;padding:0 3px;border-radius:3px}</style></head><body>"
        f"<h1>{_esc(title)}</h1><p>{report.texts} texts, method <b>{_esc(report.method)}</b>. "
        f"{_esc(report.caption())}. Scores: {_esc(report.units)}.</p>"
        f'{"".join(sections)}{widths}</body></html>\n')
