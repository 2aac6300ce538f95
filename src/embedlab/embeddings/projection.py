"""2-D projections of word vectors (PCA, t-SNE) as arrays, PNG plots and interactive HTML.

A :class:`Projection` holds the 2-D points, the share of the variance each PCA axis explains
and colour groups: k-means clusters of the words' (unit-length) vectors, so words that are
close in the full space share a colour even where the 2-D view puts them apart. The PNG places
each label where it overlaps no other label or point (a few candidate positions around the
point, then farther ones with a leader line) and is saved with a tight bounding box, so no label
is clipped. The HTML page is self-contained (no script or style from the network), its labels
placed the same way (:func:`label_offsets`): colour groups with a legend that hides or shows
each, zoom (wheel, buttons) and pan (drag), and a
search box that highlights a word and its nearest neighbours among the plotted words (cosine
similarity in the full space).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from embedlab.atomic import atomic_file
from embedlab.embeddings.vectors import Vectors
from embedlab.errors import ConfigError, EmbeddingError

PROJECTIONS = ("pca", "tsne")
#: neighbours listed per word in the HTML page's search
NEIGHBOURS = 8


@dataclass
class Projection:
    """A 2-D projection of ``words``: ``points`` (n, 2); ``explained``: the share of the
    variance of each PCA axis (None for t-SNE); ``groups``: each word's colour group (0-based,
    all 0 when not grouped); ``similarity``: cosine similarity of the words' full vectors."""

    words: list[str]
    points: np.ndarray
    method: str
    explained: tuple[float, float] | None
    groups: list[int]
    similarity: np.ndarray

    def axis_labels(self) -> tuple[str, str]:
        if self.explained is None:
            return "t-SNE 1", "t-SNE 2"
        return (f"PC1 ({self.explained[0]:.1%} of the variance)",
                f"PC2 ({self.explained[1]:.1%} of the variance)")

    @property
    def label(self) -> str:
        return "PCA" if self.method == "pca" else "t-SNE"

    def variance_note(self) -> str:
        if self.explained is None:
            return "t-SNE: distances between clusters are not meaningful"
        return f"the two axes explain {sum(self.explained):.1%} of the variance"


def _checked(vectors: Vectors, words: Sequence[str], method: str) -> np.ndarray:
    if method not in PROJECTIONS:
        raise ConfigError(f"unknown projection '{method}'; known: {', '.join(PROJECTIONS)}")
    words = list(words)
    if len(words) < 2:
        raise EmbeddingError(f"need at least 2 words to project; found {len(words)}")
    missing = [w for w in words if not vectors.can_embed(w)]
    if missing:
        raise EmbeddingError(
            f"not in the vocabulary of {vectors.name}: {', '.join(repr(w) for w in missing)}"
        )
    twice = sorted({w for w in words if words.count(w) > 1})
    if twice:
        raise EmbeddingError(f"words given more than once: {', '.join(map(repr, twice))}; give "
                             "each word once")
    data = np.stack([vectors.vector(w) for w in words]).astype(np.float64)
    if len(np.unique(data, axis=0)) < 2:  # nothing to spread: PCA would divide 0 by 0
        raise EmbeddingError(f"the words {', '.join(map(repr, words))} all have the same "
                             f"vector in {vectors.name}; there is nothing to project")
    return data


def _auto_groups(n: int) -> int:
    """Colour groups for ``n`` words: none below 6 words, then about sqrt(n / 2), at most 8."""
    return 0 if n < 6 else int(min(8, max(2, round((n / 2) ** 0.5))))


def projection(
    vectors: Vectors,
    words: Sequence[str],
    method: Literal["pca", "tsne"] = "pca",
    seed: int = 0,
    groups: int | None = None,
) -> Projection:
    """Project the vectors of ``words`` to 2-D, with ``groups`` k-means colour groups
    (``None``: chosen from the number of words; 0 or 1: one group).

    t-SNE's perplexity is capped below the number of words so that short lists work.
    """
    data = _checked(vectors, words, method)
    words = list(words)
    unit = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)
    explained: tuple[float, float] | None = None
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        points = pca.fit_transform(data)
        r = pca.explained_variance_ratio_
        explained = (float(r[0]), float(r[1]))
    else:
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (len(words) - 1) / 3)))
        points = TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca",
                      metric="cosine").fit_transform(data)
    k = _auto_groups(len(words)) if groups is None else min(groups, len(np.unique(unit, axis=0)))
    labels = [0] * len(words)
    if k >= 2:
        from sklearn.cluster import KMeans

        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(unit).tolist()
    return Projection(words, points, method, explained, [int(g) for g in labels], unit @ unit.T)


def project(
    vectors: Vectors,
    words: Sequence[str],
    method: Literal["pca", "tsne"] = "pca",
    seed: int = 0,
) -> np.ndarray:
    """Project the vectors of ``words`` to 2-D; returns an ``(len(words), 2)`` array."""
    return projection(vectors, words, method, seed, groups=0).points


def _overlap(a: tuple, b: tuple) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _candidates() -> list[tuple[float, float]]:
    """Label anchor offsets (points) around a point: near ones first, then rings farther out."""
    out: list[tuple[float, float]] = [(5, 4), (5, -4), (-5, 4), (-5, -4), (0, 7), (0, -7), (8, 0), (-8, 0)]
    for radius in (16, 26, 38, 52, 68):
        for k in range(16):
            a = 2 * np.pi * k / 16
            out.append((radius * float(np.cos(a)), radius * float(np.sin(a))))
    return out


def label_offsets(xy: np.ndarray, sizes: Sequence[tuple[float, float]], unit: float = 1.0,
                  dot: float = 3.0) -> list[tuple[float, float]]:
    """Where to put each point's label: ``xy`` the points in pixels (y up), ``sizes`` each
    label's (width, height) in pixels, ``unit`` pixels per offset unit, ``dot`` a point's half
    size in pixels. Returns per point the offset of the label's anchor (in offset units, y up;
    the label is left of / below the anchor when the offset is negative, centred when 0): the
    first of :func:`_candidates` that overlaps no label placed before and no other point, the
    most crowded points first; failing all, the one that overlaps least."""
    dots = [(x - dot, y - dot, x + dot, y + dot) for x, y in xy]
    placed: list[tuple] = []
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(xy)
    crowd = (((xy[:, None] - xy[None]) ** 2).sum(axis=-1) < (30 * unit) ** 2).sum(axis=1)
    offsets = _candidates()
    for i in np.argsort(-crowd, kind="stable"):
        w, h = sizes[i]
        best: tuple | None = None
        for dx, dy in offsets:
            ax_, ay = xy[i][0] + dx * unit, xy[i][1] + dy * unit  # the anchor in pixels
            x0 = ax_ if dx > 0 else ax_ - w if dx < 0 else ax_ - w / 2
            y0 = ay if dy > 0 else ay - h if dy < 0 else ay - h / 2
            box = (x0, y0, x0 + w, y0 + h)
            cost = (sum(_overlap(box, b) for b in placed)
                    + sum(_overlap(box, d) for j, d in enumerate(dots) if j != i))
            if best is None or cost < best[0]:
                best = (cost, dx, dy, box)
            if cost == 0:
                break
        assert best is not None
        out[i] = (best[1], best[2])
        placed.append(best[3])
    return out


def place_labels(ax, points: np.ndarray, words: Sequence[str], fontsize: float = 9) -> list:
    """Label each point of ``ax`` where :func:`label_offsets` says (a leader line to the labels
    placed farther out). Returns the text artists."""
    renderer = ax.figure.canvas.get_renderer()
    px = ax.figure.dpi / 72.0
    sizes = []
    for word in words:
        probe = ax.text(0, 0, word, fontsize=fontsize)
        ext = probe.get_window_extent(renderer)
        probe.remove()
        sizes.append((ext.width * 1.06 + 2, ext.height * 1.1))
    offsets = label_offsets(ax.transData.transform(points), sizes, px, 4.0 * px / 1.4)
    texts = []
    for point, word, (dx, dy) in zip(points, words, offsets):
        far = abs(dx) > 9 or abs(dy) > 9
        texts.append(ax.annotate(
            word, point, xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
            ha="left" if dx > 0 else "right" if dx < 0 else "center",
            va="bottom" if dy > 0 else "top" if dy < 0 else "center",
            arrowprops=dict(arrowstyle="-", color="0.6", lw=0.6, shrinkA=0, shrinkB=3) if far else None))
    return texts


def _group_colors(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(max(n, 1))]


def projection_figure(p: Projection, title: str):
    """The figure of :func:`plot_projection` (points coloured by group, labels placed)."""
    from embedlab.training.plots import new_figure

    fig = new_figure((8, 6.5))
    fig.set_dpi(120)  # the dpi it is saved with: labels are placed in its pixels
    ax = fig.subplots()
    colors = _group_colors(max(p.groups) + 1)
    ax.scatter(p.points[:, 0], p.points[:, 1], s=22, c=[colors[g] for g in p.groups], zorder=3)
    ax.margins(0.12)
    xl, yl = p.axis_labels()
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    if p.explained is None:  # t-SNE's coordinates have no unit worth reading
        ax.set_xticks([])
        ax.set_yticks([])
    ax.grid(alpha=0.25)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    place_labels(ax, p.points, p.words)
    return fig


def plot_projection(
    vectors: Vectors,
    words: Sequence[str],
    *,
    method: Literal["pca", "tsne"] = "pca",
    seed: int = 0,
    out: str | Path = "projection.png",
    title: str | None = None,
    groups: int | None = None,
) -> Path:
    """Scatter plot of the 2-D projection with word labels, saved as an image: the axes say
    how much variance each PCA axis explains, points are coloured by their k-means group,
    labels do not overlap and are never clipped (tight bounding box).

    The figure is drawn on its own Agg canvas: matplotlib's global backend and pyplot's figures
    are left untouched.
    """
    p = projection(vectors, words, method=method, seed=seed, groups=groups)
    title = title or (f"{p.label} of {len(p.words)} words ({vectors.name}); {p.variance_note()}"
                      + ("; colours: k-means groups of the full vectors" if max(p.groups) else ""))
    fig = projection_figure(p, title)
    out = Path(out)
    with atomic_file(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".") or "png", dpi=120, bbox_inches="tight")
    return out


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
* {{ box-sizing: border-box; }}
body {{ font-family: system-ui, sans-serif; margin: 0 auto; padding: 1em; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.2em; overflow-wrap: anywhere; }}
.note {{ color: #555; margin: .2em 0 .6em; }}
.controls {{ display: flex; flex-wrap: wrap; gap: .5em; align-items: center; margin-bottom: .5em; }}
.controls input[type=search] {{ font-size: 1em; padding: .3em .5em; width: 14em; max-width: 100%; }}
button {{ font-size: 1em; padding: .2em .7em; cursor: pointer; }}
#legend {{ display: flex; flex-wrap: wrap; gap: .3em 1em; margin-bottom: .5em; font-size: .9em; }}
#legend label {{ cursor: pointer; }}
.swatch {{ display: inline-block; width: .8em; height: .8em; border-radius: 50%; margin: 0 .3em; vertical-align: middle; }}
.main {{ display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }}
svg {{ border: 1px solid #ccc; background: #fff; width: 100%; max-width: {w}px; height: auto;
       flex: 1 1 320px; touch-action: none; cursor: grab; }}
circle {{ fill-opacity: .85; stroke: #fff; stroke-width: .5; cursor: pointer; }}
circle.hit {{ stroke: #000; stroke-width: 2; }}
circle.nb {{ stroke: #d62728; stroke-width: 2; }}
circle.dim {{ fill-opacity: .15; }}
text.label {{ fill: #333; pointer-events: none; paint-order: stroke; stroke: #fff; stroke-width: 2.5px; }}
text.label.dim {{ fill-opacity: .25; }}
text.axis {{ fill: #555; }}
line.link {{ stroke: #d62728; stroke-opacity: .5; }}
#neighbours {{ flex: 0 1 16em; min-width: 12em; font-size: .95em; }}
#neighbours ol {{ padding-left: 1.5em; margin: .3em 0; }}
#tip {{ position: absolute; display: none; background: #222; color: #fff; padding: 2px 6px;
        border-radius: 3px; font-size: 13px; pointer-events: none; }}
</style></head>
<body><h1>{title}</h1>
<p class="note">{note}</p>
<div class="controls">
<input type="search" id="search" list="wordlist" placeholder="find a word and its neighbours" aria-label="find a word">
<datalist id="wordlist">{options}</datalist>
<button id="zoom-in" title="zoom in (or the mouse wheel)">+</button>
<button id="zoom-out" title="zoom out">−</button>
<button id="reset">reset view</button>
<label><input type="checkbox" id="labels" checked> labels</label>
</div>
<div id="legend">{legend}</div>
<div class="main">
<svg id="plot" viewBox="0 0 {w} {h}" data-width="{w}" data-height="{h}" role="img" aria-label="{title}">
<text class="axis" x="{xl_x}" y="{xl_y}" text-anchor="middle" font-size="12">{xlabel}</text>
<text class="axis" x="12" y="{yl_y}" text-anchor="middle" font-size="12" transform="rotate(-90 12 {yl_y})">{ylabel}</text>
<g id="links"></g>
<g id="points" font-size="11">
{points}
</g>
</svg>
<div id="neighbours"><p>Type a word above (or click a point) to see its nearest neighbours among these
words: cosine similarity of the full vectors, not distance in this 2-D view.</p></div>
</div>
<div id="tip"></div>
<script>
// Self-contained: no external scripts or styles.
const data = {data};
const svg = document.getElementById("plot");
const W = +svg.dataset.width, H = +svg.dataset.height;
let vb = {{x: 0, y: 0, w: W, h: H}};
const circles = [...document.querySelectorAll("#points circle")];
const labels = [...document.querySelectorAll("#points text.label")];
function applyView() {{
  svg.setAttribute("viewBox", [vb.x, vb.y, vb.w, vb.h].join(" "));
  const k = vb.w / (svg.getBoundingClientRect().width || W);  // points and labels: the same size on screen
  document.getElementById("points").setAttribute("font-size", 11 * k);
  circles.forEach(c => c.setAttribute("r", 5 * k));
  labels.forEach((t, i) => {{ t.setAttribute("x", data[i].x + data[i].dx * k); t.setAttribute("y", data[i].y + data[i].dy * k); }});
  document.querySelectorAll("line.link").forEach(l => l.setAttribute("stroke-width", 1.5 * k));
}}
function zoom(f, cx, cy) {{
  cx = cx === undefined ? vb.x + vb.w / 2 : cx; cy = cy === undefined ? vb.y + vb.h / 2 : cy;
  const w = Math.min(W * 4, Math.max(W / 40, vb.w * f)), r = w / vb.w;
  vb = {{x: cx - (cx - vb.x) * r, y: cy - (cy - vb.y) * r, w: w, h: vb.h * r}};
  applyView();
}}
function toSvg(e) {{
  const b = svg.getBoundingClientRect();
  return [vb.x + (e.clientX - b.left) / b.width * vb.w, vb.y + (e.clientY - b.top) / b.height * vb.h];
}}
svg.addEventListener("wheel", e => {{ e.preventDefault(); const [x, y] = toSvg(e); zoom(e.deltaY > 0 ? 1.2 : 1 / 1.2, x, y); }}, {{passive: false}});
let drag = null;
svg.addEventListener("pointerdown", e => {{ if (e.target.tagName !== "circle") {{ drag = [e.clientX, e.clientY, vb.x, vb.y]; svg.setPointerCapture(e.pointerId); }} }});
svg.addEventListener("pointermove", e => {{
  if (!drag) return;
  const b = svg.getBoundingClientRect();
  vb.x = drag[2] - (e.clientX - drag[0]) / b.width * vb.w; vb.y = drag[3] - (e.clientY - drag[1]) / b.height * vb.h;
  applyView();
}});
svg.addEventListener("pointerup", () => {{ drag = null; }});
document.getElementById("zoom-in").onclick = () => zoom(1 / 1.5);
document.getElementById("zoom-out").onclick = () => zoom(1.5);
document.getElementById("reset").onclick = () => {{ vb = {{x: 0, y: 0, w: W, h: H}}; applyView(); }};
document.getElementById("labels").addEventListener("change", e => {{
  labels.forEach(t => {{ t.style.display = e.target.checked ? "" : "none"; }}); }});
document.querySelectorAll("#legend input").forEach(box => box.addEventListener("change", () => {{
  const g = +box.dataset.group;
  data.forEach((d, i) => {{ if (d.group === g) {{
    circles[i].style.display = box.checked ? "" : "none"; labels[i].style.display = box.checked ? "" : "none"; }} }});
}}));
const tip = document.getElementById("tip");
circles.forEach((c, i) => {{
  c.addEventListener("mousemove", e => {{
    tip.textContent = data[i].word; tip.style.display = "block";
    tip.style.left = (e.pageX + 10) + "px"; tip.style.top = (e.pageY + 10) + "px";
  }});
  c.addEventListener("mouseleave", () => {{ tip.style.display = "none"; }});
  c.addEventListener("click", () => {{ document.getElementById("search").value = data[i].word; show(i); }});
}});
function esc(s) {{ const d = document.createElement("span"); d.textContent = s; return d.innerHTML; }}
function show(i) {{
  const panel = document.getElementById("neighbours"), links = document.getElementById("links");
  links.innerHTML = "";
  circles.forEach(c => c.classList.remove("hit", "nb", "dim"));
  labels.forEach(t => t.classList.remove("dim"));
  if (i < 0) {{ panel.innerHTML = "<p>not among the plotted words</p>"; return; }}
  const near = new Set(data[i].near.map(n => n[0]));
  data.forEach((d, j) => {{ if (j !== i && !near.has(j)) {{ circles[j].classList.add("dim"); labels[j].classList.add("dim"); }} }});
  circles[i].classList.add("hit");
  let rows = "";
  data[i].near.forEach(([j, sim]) => {{
    circles[j].classList.add("nb");
    const l = document.createElementNS(svg.namespaceURI, "line");
    l.setAttribute("class", "link");
    l.setAttribute("x1", data[i].x); l.setAttribute("y1", data[i].y); l.setAttribute("x2", data[j].x); l.setAttribute("y2", data[j].y);
    links.appendChild(l);
    rows += "<li><b>" + esc(data[j].word) + "</b> " + sim.toFixed(3) + "</li>";
  }});
  panel.innerHTML = "<h2 style='font-size:1em'>nearest to <b>" + esc(data[i].word) + "</b></h2><ol>" + rows + "</ol>";
  applyView();
}}
document.getElementById("search").addEventListener("change", e => {{
  const q = e.target.value.trim().toLowerCase();
  if (!q) {{ show(-1); document.getElementById("neighbours").innerHTML = ""; return; }}
  const i = data.findIndex(d => d.word.toLowerCase() === q);
  if (i >= 0) {{  // off the view (zoomed in elsewhere): centre the view on it
    const d = data[i];
    if (d.x < vb.x || d.x > vb.x + vb.w || d.y < vb.y || d.y > vb.y + vb.h) {{
      vb.x = d.x - vb.w / 2; vb.y = d.y - vb.h / 2;
    }}
  }}
  show(i);
}});
window.addEventListener("resize", applyView);
applyView();
</script></body></html>
"""


def _baseline(dy: float) -> str:
    """SVG's vertical alignment of a label whose anchor is ``dy`` above (>0) or below its point."""
    return "text-after-edge" if dy > 0 else "text-before-edge" if dy < 0 else "central"


def plot_projection_html(
    vectors: Vectors,
    words: Sequence[str],
    *,
    method: Literal["pca", "tsne"] = "pca",
    seed: int = 0,
    out: str | Path = "projection.html",
    title: str | None = None,
    size: tuple[int, int] = (800, 600),
    groups: int | None = None,
) -> Path:
    """A self-contained interactive HTML page (inline SVG and script): colour groups with a
    legend to hide or show each, zoom and pan, hover for the word, and a search box (or a
    click) that shows a word's nearest neighbours among the plotted words."""
    p = projection(vectors, words, method=method, seed=seed, groups=groups)
    w, h = size
    pad, left, bottom, right = 30, 40, 40, 90  # room for the axis titles and the labels' text
    lo, hi = p.points.min(axis=0), p.points.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    xy = (p.points - lo) / span
    xs = left + pad + xy[:, 0] * (w - left - pad - right)
    ys = h - bottom - pad - xy[:, 1] * (h - bottom - 2 * pad)
    n_groups = max(p.groups) + 1
    from matplotlib.colors import to_hex

    colors = [to_hex(rgba) for rgba in _group_colors(n_groups)]
    # labels placed apart as in the PNG (widths estimated for an 11 px sans-serif font), their
    # offsets kept in screen pixels when zooming; y is flipped (SVG's y points down)
    offsets = label_offsets(np.stack([xs, -ys], axis=1), [(6.3 * len(wd) + 3, 13.0) for wd in p.words],
                            dot=5.0)
    items = []
    for x, y, word, g, (dx, dy) in zip(xs, ys, p.words, p.groups, offsets):
        esc = html.escape(word, quote=True)
        anchor = "start" if dx > 0 else "end" if dx < 0 else "middle"
        items.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colors[g]}" data-word="{esc}" '
                     f'data-group="{g}"><title>{esc}</title></circle>'
                     f'<text class="label" x="{x + dx:.1f}" y="{y - dy:.1f}" text-anchor="{anchor}" '
                     f'dominant-baseline="{_baseline(dy)}">{esc}</text>')
    legend = ""
    if n_groups > 1:
        parts = []
        for g in range(n_groups):
            members = [wd for wd, k in zip(p.words, p.groups) if k == g]
            sample = ", ".join(members[:3]) + (", …" if len(members) > 3 else "")
            parts.append(f'<label><input type="checkbox" data-group="{g}" checked>'
                         f'<span class="swatch" style="background:{colors[g]}"></span>'
                         f"group {g + 1} ({len(members)}: {html.escape(sample)})</label>")
        legend = "colour groups (k-means of the full vectors; untick to hide): " + "".join(parts)
    k = min(NEIGHBOURS, len(p.words) - 1)
    data = []
    for i, (wd, x, y, g) in enumerate(zip(p.words, xs, ys, p.groups)):
        sims = p.similarity[i].copy()
        sims[i] = -np.inf
        near = np.argsort(-sims, kind="stable")[:k]
        data.append({"word": wd, "x": round(float(x), 1), "y": round(float(y), 1), "group": g,
                     "dx": round(offsets[i][0], 1), "dy": round(-offsets[i][1], 1),
                     "near": [[int(j), round(float(sims[j]), 4)] for j in near]})
    xlabel, ylabel = p.axis_labels()
    title = title or f"{p.label} of {len(p.words)} words ({vectors.name})"
    note = (f"{p.variance_note()}. Wheel or +/− to zoom, drag to pan; hover a point for its word, "
            "click it (or search) for its neighbours.")
    page = _HTML.format(
        title=html.escape(title), note=html.escape(note), w=w, h=h, points="\n".join(items),
        options="".join(f'<option value="{html.escape(wd, quote=True)}">' for wd in p.words),
        legend=legend, xlabel=html.escape(xlabel), ylabel=html.escape(ylabel),
        xl_x=(w + left) // 2, xl_y=h - 10, yl_y=(h - bottom) // 2,
        data=json.dumps(data).replace("</", "<\\/"))
    out = Path(out)
    with atomic_file(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out
