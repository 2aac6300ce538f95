"""Explanations in the terminal: tokens coloured by score (Rich), the prediction, a ranked list."""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from embedlab.explain.attention import LABEL as ATTENTION_LABEL
from embedlab.explain.colours import FADE, TINT_FLOOR, strengths, tint, uniform_note
from embedlab.explain.explanation import Explanation

#: 16-colour terminals: foreground for weak tokens, white on a background for strong ones
_STANDARD = {"for": ("bold bright_red", "bold bright_white on red"),
             "against": ("bold bright_blue", "bold bright_white on blue"),
             "attention": ("bold magenta", "bold bright_white on magenta")}
#: 16 colours: at or above this strength a token gets a background, below it only a colour
STRONG = 0.5


def token_style(strength: float, kind: str, color_system: str | None) -> str:
    """The Rich style of a token of this strength (see :mod:`embedlab.explain.colours`).

    256 colours and truecolour: a background from a light tint (never white) to the full
    colour; 16 colours: a red/blue (purple) foreground for weak tokens and white on red/blue
    for strong ones, so the sign stays visible where light tints do not exist; nothing below
    :data:`~embedlab.explain.colours.FADE`.
    """
    a = abs(strength)
    if a < FADE:
        return ""
    if color_system in ("standard", "windows"):
        side = "attention" if kind == "attention" else ("for" if strength > 0 else "against")
        weak, strong = _STANDARD[side]
        return strong if a >= STRONG else weak
    rgb = tint(strength, kind, TINT_FLOOR)
    assert rgb is not None
    ink = "bright_white" if a >= 0.6 else "black"
    return f"{ink} on rgb({rgb[0]},{rgb[1]},{rgb[2]})"


def score_style(strength: float, kind: str) -> str:
    """The colour of a score in the ranked list (its sign, readable in every colour mode)."""
    if kind == "attention":
        return "magenta"
    return "bright_red" if strength > 0 else ("bright_blue" if strength < 0 else "")


def _settings(e: Explanation) -> str:
    shown = {k: v for k, v in e.settings.items() if k != "label"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def coloured_text(e: Explanation, color_system: str | None = "truecolor") -> Text:
    """The original text with each token styled by its strength for this colour system
    (``Console.color_system``: ``"standard"``, ``"256"``, ``"truecolor"``)."""
    out = Text()
    cursor = 0
    for t, a in zip(e.tokens, strengths(e)):
        if t.start < cursor or t.end <= t.start:
            continue
        out.append(e.text[cursor:t.start])
        style = "dim strike" if t.status == "cut" else token_style(a, e.score_kind, color_system)
        if t.status == "unknown":
            style += " underline"
        out.append(e.text[t.start:t.end], style=style.strip() or None)
        cursor = t.end
    out.append(e.text[cursor:])
    return out


class Highlighted:
    """The coloured text, styled for the colour system of the console that prints it."""

    def __init__(self, e: Explanation) -> None:
        self.e = e

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield coloured_text(self.e, console.color_system)


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
        key = Text(ATTENTION_LABEL, style="bold magenta")
        key.append(f"; {uniform_note(e)}", style="dim")
    else:
        key = Text("red: for ", style="dim")
        key.append(e.explained, style="dim bold")
        key.append(", blue: against; uncoloured: under a tenth of the largest |score|; "
                   "underlined: unknown word", style="dim")
    parts.append(key)
    parts.append(Text(f"scores: {e.units}", style="dim"))
    parts.append(Highlighted(e))
    if e.score_kind != "attention":
        parts.append(Text("ranked by |score|: + for, − against", style="dim"))
    parts.append(_ranked(e, top))
    if e.ngrams and e.method != "ngrams":
        grams = Text("n-grams: ", style="bold")
        for i, g in enumerate(e.top_ngrams(5)):
            grams.append(", " if i else "")
            grams.append(f"\"{g.text}\" ")
            grams.append(f"{g.score:+.3f}", style=score_style(g.score, e.score_kind))
        parts.append(grams)
    if e.delta is not None:
        parts.append(Text(f"convergence delta {e.delta:+.2e} (logit at baseline "
                          f"{e.base:+.3f})", style="dim"))
    for note in e.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts)


def _ranked(e: Explanation, top: int) -> Table:
    """The ``top`` tokens (cnn ``ngrams``: n-grams) by |score|: evidence for and against."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("#", justify="right")
    use_ngrams = bool(e.ngrams) and e.method == "ngrams"
    table.add_column("n-gram" if use_ngrams else "token")
    table.add_column("weight" if e.score_kind == "attention" else "score", justify="right")
    if use_ngrams:
        table.add_column("filters", justify="right")
        for r, g in enumerate(e.top_ngrams(top), 1):
            table.add_row(str(r), e.text[g.start:g.end],
                          Text(f"{g.score:+.4f}", style=score_style(g.score, e.score_kind)),
                          str(g.filters))
    else:
        for r, t in enumerate(e.top_tokens(top), 1):
            fmt = f"{t.score:.4f}" if e.score_kind == "attention" else f"{t.score:+.4f}"
            table.add_row(str(r), e.text[t.start:t.end] or t.token,
                          Text(fmt, style=score_style(t.score, e.score_kind)))
    return table


def render_terminal(e: Explanation, console: Console | None = None, top: int = 10) -> None:
    """Print one explanation (use ``Console(record=True)`` to capture it)."""
    (console or Console()).print(renderable(e, top))
