"""Pictures of explanations (matplotlib on its own Agg canvas; pyplot is never touched).

* :func:`token_bars_png` — one bar per token, in text order, red for the explained class and
  blue against it (attention: one colour, labelled as attention weights);
* :func:`filters_png` — the cnn's filters × tokens heatmap (one panel per width) with the
  n-grams the max-pool chose;
* :func:`attention_png` — the rnn's attention weights over the tokens as a heatmap;
* :func:`deletion_curves_png` — faithfulness deletion curves, one line per method;
* :func:`global_png` — a global explanation: one panel per class, a bar per term (its mean
  contribution per occurrence, red for the class and blue against it).

:func:`render_png` picks the picture that fits the method.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.explain.attention import LABEL as ATTENTION_LABEL
from embedlab.explain.colours import AGAINST, ATTENTION, FOR, FULL_AT_UNIFORM, hex_of
from embedlab.explain.explanation import Explanation

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from embedlab.explain.faithfulness import FaithfulnessReport
    from embedlab.explain.global_ import GlobalExplanation

#: tokens shown by the bar chart before it keeps only the highest |scores|
MAX_BARS = 40
MAX_COLUMNS = 60


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path) -> Path:
    from embedlab.atomic import atomic_file

    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    return path


def _title(e: Explanation) -> str:
    target = e.explained if e.explained == e.predicted else f"{e.explained} (asked)"
    return (f"{e.method}: why '{target}' (p={e.probability:.2f}; predicted "
            f"'{e.predicted}')")


def _label(e: Explanation, i: int) -> str:
    t = e.tokens[i]
    surface = e.text[t.start:t.end] or t.token
    return surface if len(surface) <= 18 else surface[:17] + "…"


def token_bars_png(e: Explanation, path: str | Path) -> Path:
    """Horizontal bars of the seen tokens' scores, in text order (top to bottom)."""
    idx = [i for i, t in enumerate(e.tokens) if t.status != "cut"]
    if len(idx) > MAX_BARS:
        keep = sorted(sorted(idx, key=lambda i: -abs(e.tokens[i].score))[:MAX_BARS])
        idx = keep
    scores = np.array([e.tokens[i].score for i in idx])
    fig = _figure(7.5, 1.2 + 0.28 * len(idx))
    ax = fig.add_subplot()
    if e.score_kind == "attention":
        colors = [hex_of(ATTENTION)] * len(idx)
        xlabel = f"weight — {ATTENTION_LABEL}"
    else:
        colors = [hex_of(FOR) if s > 0 else hex_of(AGAINST) for s in scores]
        xlabel = f"contribution to '{e.explained}' (red: for it, blue: against)"
    y = np.arange(len(idx))
    ax.barh(y, scores, color=colors)
    ax.set_yticks(y, [_label(e, i) + ("" if e.tokens[i].status == "known" else " (unk)")
                      for i in idx])
    ax.invert_yaxis()
    ax.axvline(0, color="#444", linewidth=0.8)
    ax.set_xlabel(xlabel)
    extra = f" — top {MAX_BARS} of {len(e.seen)} tokens by |score|" if len(e.seen) > MAX_BARS else ""
    ax.set_title(_title(e) + extra, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def filters_png(e: Explanation, path: str | Path, top: int = 6) -> Path:
    """The cnn's filters × tokens activations, one panel per width, and the chosen n-grams."""
    if not e.maps:
        from embedlab.errors import ConfigError

        raise ConfigError("the filters heatmap needs an 'ngrams' explanation of a cnn")
    widths = list(e.maps)
    seen = len(e.maps[widths[0]][0]) if e.maps[widths[0]] else 0
    cols = min(seen, MAX_COLUMNS)
    rows = [len(e.maps[w]) for w in widths]
    grams = e.top_ngrams(top)
    fig = _figure(max(6.0, 0.38 * cols + 2.5), 2.6 + 0.035 * sum(rows) + 0.22 * len(grams))
    # the spacer row leaves room for the rotated token labels above the n-gram list
    grid = fig.add_gridspec(len(widths) + 2, 1, height_ratios=[*rows, 20, 8 + 6 * len(grams)],
                            hspace=0.15)
    vmax = max((max((max(r[:cols], default=0) for r in e.maps[w]), default=0) for w in widths),
               default=1.0) or 1.0
    image = None
    for j, w in enumerate(widths):
        ax = fig.add_subplot(grid[j])
        data = np.array(e.maps[w])[:, :cols]
        image = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=vmax,
                          interpolation="nearest")
        chosen = [(p, f) for f, p in enumerate(e.choices.get(w, [])) if 0 <= p < cols]
        if chosen:
            ax.scatter([p for p, _ in chosen], [f for _, f in chosen], s=4, c="#ff4d4d",
                       marker="s", linewidths=0, label="chosen by max-pooling")
        ax.set_ylabel(f"width {w}\n{len(e.maps[w])} filters", fontsize=8)
        ax.set_yticks([])
        if j == len(widths) - 1:
            ax.set_xticks(range(cols), [_label(e, i) for i in range(cols)], rotation=60,
                          ha="right", fontsize=8)
        else:
            ax.set_xticks([])
        if j == 0:
            ax.set_title(_title(e) + "\nfilter activations after the convolution\nred dot: "
                         "anchor of the window each filter's max-pool chose", fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=fig.axes, fraction=0.03, pad=0.02, label="activation")
    text_ax = fig.add_subplot(grid[-1])
    text_ax.axis("off")
    lines = [f"n-grams chosen by max-pooling, by contribution to '{e.explained}':"]
    lines += [f"  {g.score:+.3f}  \"{e.text[g.start:g.end]}\"  ({g.filters} filter"
              f"{'s' if g.filters != 1 else ''})" for g in grams]
    text_ax.text(0, 1, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=8,
                 transform=text_ax.transAxes)
    return _save(fig, path)


def attention_png(e: Explanation, path: str | Path) -> Path:
    """The attention weight of each token as a one-row heatmap, weights written in the cells."""
    idx = [i for i, t in enumerate(e.tokens) if t.status != "cut"][:MAX_COLUMNS]
    weights = np.array([[e.tokens[i].score for i in idx]])
    fig = _figure(max(6.0, 0.6 * len(idx) + 1.5), 2.4)
    ax = fig.add_subplot()
    # full colour at FULL_AT_UNIFORM × the uniform weight (or the largest weight, if higher):
    # never scaled to the largest weight alone, which makes nearly uniform weights look strong
    n = len(e.seen) or 1
    vmax = max(float(weights.max()), FULL_AT_UNIFORM / n, 1e-9)
    image = ax.imshow(weights, aspect="auto", cmap="Purples", vmin=0, vmax=vmax)
    for j, v in enumerate(weights[0]):
        ax.text(j, 0, f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if v > 0.6 * vmax else "black")
    ax.set_xticks(range(len(idx)), [_label(e, i) for i in idx], rotation=60, ha="right",
                  fontsize=8)
    ax.set_yticks([])
    ax.set_title(_title(e) + f"\n{ATTENTION_LABEL}", fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02,
                       label=f"attention weight (uniform 1/{n} = {1 / n:.2g}, marked)")
    bar.ax.axhline(1 / n, color="#444", linewidth=1)
    return _save(fig, path)


def render_png(e: Explanation, path: str | Path) -> Path:
    """The picture that fits the method: filters heatmap (ngrams), attention heatmap, or bars."""
    if e.method == "ngrams" and e.maps:
        return filters_png(e, path)
    if e.score_kind == "attention":
        return attention_png(e, path)
    return token_bars_png(e, path)


def deletion_curves_png(report: FaithfulnessReport, path: str | Path) -> Path:
    """Mean probability of the explained class as the top-scored tokens are deleted."""
    fig = _figure(6.5, 4.2)
    ax = fig.add_subplot()
    x = [100 * f for f in report.fractions]
    for row in report.rows:
        style: dict[str, Any] = ({"color": "#888", "linestyle": "--"} if row.method == "random"
                                 else {"marker": "o", "markersize": 3})
        ax.plot(x, row.curve, label=f"{row.method} (AOPC {row.aopc_comprehensiveness:.3f})",
                **style)
    ax.set_xlabel("top-scored tokens deleted (%)")
    ax.set_ylabel("mean probability of the explained class")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"deletion curves: {report.model} on {report.data}: {report.texts} texts\n"
                 "lower is more faithful", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def global_png(report: GlobalExplanation, path: str | Path) -> Path:
    """One panel per class: the terms' mean contribution per occurrence (occurrences in the
    labels), red for the class and blue against it, on a shared axis."""
    classes = list(report.classes)
    cols = min(len(classes), 2) or 1
    rows = -(-len(classes) // cols) or 1
    longest = max((len(v) for v in report.classes.values()), default=1) or 1
    fig = _figure(6.2 * cols, 1.0 + rows * (0.9 + 0.27 * longest))
    means = [t[1] for v in report.classes.values() for t in v] or [1.0]
    low, high = min(min(means), 0.0), max(max(means), 0.0)
    pad = 0.05 * ((high - low) or 1.0)
    for i, c in enumerate(classes or [""]):
        ax = fig.add_subplot(rows, cols, i + 1)
        terms = report.classes.get(c, [])
        y = np.arange(len(terms))
        means = [t[1] for t in terms]
        ax.barh(y, means, color=[hex_of(FOR) if m > 0 else hex_of(AGAINST) for m in means])
        ax.set_yticks(y, [f"{_short(str(t[0]))} ({t[2]})" for t in terms], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="#444", linewidth=0.8)
        ax.set_xlim(low - pad, high + pad)  # one axis for every class, 0 always shown
        ax.set_title(f"{c}: {report.predicted.get(c, 0)} texts predicted", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        if not terms:
            ax.text(0.5, 0.5, f"no term seen {report.min_count}+ times", ha="center",
                    va="center", transform=ax.transAxes, fontsize=8, color="#777")
        if i >= len(classes) - cols:
            ax.set_xlabel("mean contribution per occurrence (red: for the class, blue: "
                          "against)", fontsize=8)
    fig.suptitle(f"{report.model} on {report.data} ({report.texts} texts, {report.method}): "
                 f"terms seen {report.min_count}+ times, by |mean contribution|; "
                 "(n) = occurrences", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def _short(text: str, n: int = 24) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
