"""Explanations in the terminal: tokens coloured by score (Rich), the prediction, a ranked list."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from embedlab.explain.attention import LABEL as ATTENTION_LABEL
from embedlab.explain.explanation import Explanation

FOR = (202, 0, 32)  # red: evidence for the explained class
AGAINST = (5, 113, 176)  # blue: evidence against it
ATTENTION = (123, 50, 148)  # purple: attention weight (no sign)


def blend(score: float, scale: float, kind: str = "attribution") -> tuple[int, int, int] | None:
    """Background colour of a score: white → red/blue (or purple) by |score| / scale."""
    if not scale:
        return None
    a = min(abs(score) / scale, 1.0)
    if a < 0.05:
        return None
    end = ATTENTION if kind == "attention" else (FOR if score > 0 else AGAINST)
    return tuple(round(255 + (c - 255) * a) for c in end)  # type: ignore[return-value]


def scale_of(e: Explanation) -> float:
    return max((abs(t.score) for t in e.seen), default=0.0)


def _settings(e: Explanation) -> str:
    shown = {k: v for k, v in e.settings.items() if k != "label"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def coloured_text(e: Explanation) -> Text:
    """The original text with each token's characters on its score's colour."""
    scale = scale_of(e)
    out = Text()
    cursor = 0
    for t in e.tokens:
        if t.start < cursor or t.end <= t.start:
            continue
        out.append(e.text[cursor:t.start])
        rgb = blend(t.score, scale, e.score_kind) if t.status != "cut" else None
        style = f"black on rgb({rgb[0]},{rgb[1]},{rgb[2]})" if rgb else ""
        if t.status == "cut":
            style = "dim strike"
        elif t.status == "unknown":
            style += " underline"
        out.append(e.text[t.start:t.end], style=style.strip() or None)
        cursor = t.end
    out.append(e.text[cursor:])
    return out


def renderable(e: Explanation, top: int = 10) -> Group:
    """Everything :func:`render_terminal` prints, as one Rich renderable."""
    head = Text()
    head.append("predicted ", style="bold")
    head.append(f"{e.predicted}", style="bold green")
    head.append(f" (p={e.probabilities[e.predicted]:.3f})")
    if e.explained != e.predicted:
        head.append("   explaining ", style="bold")
        head.append(f"{e.explained}", style="bold yellow")
        head.append(f" (p={e.probability:.3f})")
    head.append(f"   method {e.method}", style="bold")
    if _settings(e):
        head.append(f" ({_settings(e)})", style="dim")
    parts: list[Any] = [head]
    if e.score_kind == "attention":
        parts.append(Text(ATTENTION_LABEL, style="bold magenta"))
    else:
        key = Text("red: for ", style="dim")
        key.append(e.explained, style="dim bold")
        key.append(", blue: against; underlined: unknown word", style="dim")
        parts.append(key)
    parts.append(coloured_text(e))
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("#", justify="right")
    use_ngrams = bool(e.ngrams) and e.method == "ngrams"
    table.add_column("n-gram" if use_ngrams else "token")
    table.add_column("weight" if e.score_kind == "attention" else "score", justify="right")
    if use_ngrams:
        table.add_column("filters", justify="right")
        for r, g in enumerate(e.top_ngrams(top), 1):
            table.add_row(str(r), e.text[g.start:g.end], f"{g.score:+.4f}", str(g.filters))
    else:
        for r, t in enumerate(e.top_tokens(top), 1):
            fmt = f"{t.score:.4f}" if e.score_kind == "attention" else f"{t.score:+.4f}"
            table.add_row(str(r), e.text[t.start:t.end] or t.token, fmt)
    parts.append(table)
    if e.ngrams and not use_ngrams:
        grams = Text("n-grams: ", style="bold")
        grams.append(", ".join(f"\"{g.text}\" {g.score:+.3f}" for g in e.top_ngrams(5)))
        parts.append(grams)
    if e.delta is not None:
        parts.append(Text(f"convergence delta {e.delta:+.2e} (logit at baseline "
                          f"{e.base:+.3f})", style="dim"))
    for note in e.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts)


def render_terminal(e: Explanation, console: Console | None = None, top: int = 10) -> None:
    """Print one explanation (use ``Console(record=True)`` to capture it)."""
    (console or Console()).print(renderable(e, top))
