"""Explanations as HTML: no CDN, no script bundle, opens offline.

* :func:`render_html` ``(explanation) -> str`` — one explanation as a self-contained ``<section>``
  (inline styles only, so it can be dropped into any page, e.g. the serving web page): the text
  with each token highlighted by score (diverging colours and a legend), a probability bar for
  every class, the ranked tokens / n-grams, notes. The explanation's JSON rides along in a
  ``<script type="application/json">`` data block (data, never run), so a saved page can be read
  back with :func:`explanations_from_html`.
* :func:`render_html_page` ``(explanations) -> str`` — a whole page with one section per text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from embedlab.explain.attention import LABEL as ATTENTION_LABEL
from embedlab.explain.explanation import Explanation
from embedlab.explain.render_terminal import AGAINST, ATTENTION, FOR, blend, scale_of

_DATA = re.compile(
    r'<script type="application/json" class="embedlab-explanation">(.*?)</script>', re.DOTALL)


def _rgb(c: tuple[int, int, int]) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _highlighted(e: Explanation) -> str:
    scale = scale_of(e)
    out, cursor = [], 0
    for t in e.tokens:
        if t.start < cursor or t.end <= t.start:
            continue
        out.append(_esc(e.text[cursor:t.start]))
        surface = _esc(e.text[t.start:t.end])
        tip = _esc(f"{t.token}: {t.score:+.4f} ({t.status})")
        if t.status == "cut":
            out.append(f'<span title="{tip}" style="color:#999;text-decoration:line-through">'
                       f"{surface}</span>")
        else:
            rgb = blend(t.score, scale, e.score_kind)
            bg = f"background:{_rgb(rgb)};" if rgb else ""
            if rgb and abs(t.score) > 0.6 * scale:
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
        gradient = f"linear-gradient(to right,#fff,{_rgb(ATTENTION)})"
        left, mid, right = "0", f"{scale / 2:.3g}", f"{scale:.3g}"
        caption = f"<b>{_esc(ATTENTION_LABEL)}</b>"
    else:
        gradient = f"linear-gradient(to right,{_rgb(AGAINST)},#fff,{_rgb(FOR)})"
        left, mid, right = f"−{scale:.3g}", "0", f"+{scale:.3g}"
        caption = (f"blue: against <b>{_esc(e.explained)}</b> · red: for it · dashed: unknown "
                   "word · struck out: cut (beyond the model's window)")
    return (
        '<div style="margin:6px 0 10px;font-size:12px;color:#333">'
        f'<div style="display:flex;align-items:center;gap:6px"><span>{left}</span>'
        f'<span style="display:inline-block;width:180px;height:10px;background:{gradient};'
        f'border:1px solid #ccc"></span><span>{right}</span>'
        f'<span style="color:#777">(middle {mid})</span></div><div>{caption}</div></div>')


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


def _ranked(e: Explanation, top: int) -> str:
    items = []
    if e.ngrams and e.method == "ngrams":
        title = "n-grams chosen by max-pooling"
        for g in e.top_ngrams(top):
            items.append(f"<li><code>{_esc(e.text[g.start:g.end])}</code> {g.score:+.4f} "
                         f'<span style="color:#777">({g.filters} filters)</span></li>')
    else:
        title = "top tokens" if e.score_kind != "attention" else "highest attention weights"
        for t in e.top_tokens(top):
            items.append(f"<li><code>{_esc(e.text[t.start:t.end] or t.token)}</code> "
                         f"{t.score:+.4f}</li>")
        if e.ngrams:
            for g in e.top_ngrams(5):
                items.append(f"<li>n-gram <code>{_esc(g.text)}</code> {g.score:+.4f}</li>")
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
