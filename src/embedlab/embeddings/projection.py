"""2-D projections of word vectors (PCA, t-SNE) as arrays, PNG plots and interactive HTML."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from embedlab.atomic import atomic_file
from embedlab.embeddings.vectors import Vectors
from embedlab.errors import ConfigError, EmbeddingError

PROJECTIONS = ("pca", "tsne")


def project(
    vectors: Vectors,
    words: Sequence[str],
    method: Literal["pca", "tsne"] = "pca",
    seed: int = 0,
) -> np.ndarray:
    """Project the vectors of ``words`` to 2-D; returns an ``(len(words), 2)`` array.

    t-SNE's perplexity is capped below the number of words so that short lists work.
    """
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
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(data)
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(1.0, (len(words) - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca",
                metric="cosine").fit_transform(data)


def plot_projection(
    vectors: Vectors,
    words: Sequence[str],
    *,
    method: Literal["pca", "tsne"] = "pca",
    seed: int = 0,
    out: str | Path = "projection.png",
    title: str | None = None,
) -> Path:
    """Scatter plot of the 2-D projection with word labels, saved as an image.

    The figure is drawn on its own Agg canvas: matplotlib's global backend and pyplot's figures
    are left untouched.
    """
    from embedlab.training.plots import new_figure

    points = project(vectors, words, method=method, seed=seed)
    fig = new_figure((7, 6))
    ax = fig.subplots()
    ax.scatter(points[:, 0], points[:, 1], s=18)
    for (x, y), word in zip(points, words):
        ax.annotate(word, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=9)
    ax.set_title(title or f"{method.upper()} of {len(words)} words ({vectors.name})")
    fig.tight_layout()
    out = Path(out)
    with atomic_file(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".") or "png", dpi=120)
    return out


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
svg {{ border: 1px solid #ccc; background: #fff; }}
circle {{ fill: #1f77b4; fill-opacity: .75; cursor: pointer; }}
circle:hover {{ fill: #d62728; }}
text.label {{ font-size: 10px; fill: #444; pointer-events: none; }}
#tip {{ position: absolute; display: none; background: #222; color: #fff; padding: 2px 6px;
        border-radius: 3px; font-size: 13px; pointer-events: none; }}
</style></head>
<body><h3>{title}</h3>
<label><input type="checkbox" id="labels" checked> show labels</label><br>
<svg id="plot" width="{w}" height="{h}" viewBox="0 0 {w} {h}">
{points}
</svg>
<div id="tip"></div>
<script>
// Self-contained: no external scripts. Hover a point to see its word.
const tip = document.getElementById("tip");
document.querySelectorAll("circle").forEach(c => {{
  c.addEventListener("mousemove", e => {{
    tip.textContent = c.dataset.word; tip.style.display = "block";
    tip.style.left = (e.pageX + 10) + "px"; tip.style.top = (e.pageY + 10) + "px";
  }});
  c.addEventListener("mouseleave", () => {{ tip.style.display = "none"; }});
}});
document.getElementById("labels").addEventListener("change", e => {{
  document.querySelectorAll("text.label").forEach(t => {{
    t.style.display = e.target.checked ? "" : "none"; }});
}});
const data = {data};
</script></body></html>
"""


def plot_projection_html(
    vectors: Vectors,
    words: Sequence[str],
    *,
    method: Literal["pca", "tsne"] = "pca",
    seed: int = 0,
    out: str | Path = "projection.html",
    title: str | None = None,
    size: tuple[int, int] = (800, 600),
) -> Path:
    """A self-contained interactive HTML scatter plot (inline SVG + JS; hover shows the word)."""
    points = project(vectors, words, method=method, seed=seed)
    w, h = size
    pad = 40
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    xy = (points - lo) / span
    xs = pad + xy[:, 0] * (w - 2 * pad)
    ys = h - pad - xy[:, 1] * (h - 2 * pad)
    items = []
    for x, y, word in zip(xs, ys, words):
        esc = html.escape(word, quote=True)
        items.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" data-word="{esc}"><title>{esc}</title>'
            f'</circle><text class="label" x="{x + 6:.1f}" y="{y - 4:.1f}">{esc}</text>'
        )
    title = title or f"{method.upper()} of {len(words)} words ({vectors.name})"
    data = json.dumps([{"word": wd, "x": float(a), "y": float(b)}
                       for wd, (a, b) in zip(words, points)]).replace("</", "<\\/")
    page = _HTML.format(title=html.escape(title), w=w, h=h, points="\n".join(items), data=data)
    out = Path(out)
    with atomic_file(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out
