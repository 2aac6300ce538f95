"""How strongly a token is coloured, and in which colour: one rule for the terminal, the HTML
explanation and the web page (``serve/static/index.html`` mirrors it in JavaScript).

* attributions: ``strength = score / max |score|`` over the seen tokens (in ``[-1, 1]``; the
  sign picks red, for the explained class, or blue, against it);
* attention weights (they sum to 1 over the ``n`` seen tokens): relative to the uniform weight
  ``1/n``: ``strength = (w·n − 1) / (FULL_AT_UNIFORM − 1)`` clipped to ``[0, 1]``, so a model
  that looks at every token alike shows no colour, and a token gets the full colour at
  ``FULL_AT_UNIFORM`` times the uniform weight (never normalised to the largest weight, which
  would make nearly uniform weights look strong);
* below ``FADE`` (a tenth of the scale) a token gets no colour at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embedlab.explain.explanation import Explanation

FOR = (202, 0, 32)  # red: evidence for the explained class
AGAINST = (5, 113, 176)  # blue: evidence against it
ATTENTION = (123, 50, 148)  # purple: attention weight (no sign)
#: strengths below this get no colour (terminal, HTML, the page)
FADE = 0.1
#: attention: full colour at this many times the uniform weight 1/n
FULL_AT_UNIFORM = 4.0
#: terminals: the lightest tint a coloured token gets (so no near-white box on a dark theme)
TINT_FLOOR = 0.35

RGB = tuple[int, int, int]


def scale_of(e: Explanation) -> float:
    """The largest |score| of the seen tokens (attributions' full colour)."""
    return max((abs(t.score) for t in e.seen), default=0.0)


def strengths(e: Explanation) -> list[float]:
    """One strength per token of ``e.tokens`` (cut tokens: 0), as the module docstring says."""
    seen = e.seen
    if e.score_kind == "attention":
        n = len(seen)
        return [0.0 if t.status == "cut" or not n
                else min(max((t.score * n - 1) / (FULL_AT_UNIFORM - 1), 0.0), 1.0)
                for t in e.tokens]
    scale = scale_of(e)
    return [0.0 if t.status == "cut" or not scale else max(min(t.score / scale, 1.0), -1.0)
            for t in e.tokens]


def end_colour(strength: float, kind: str) -> RGB:
    return ATTENTION if kind == "attention" else (FOR if strength > 0 else AGAINST)


def tint(strength: float, kind: str = "attribution", floor: float = 0.0) -> RGB | None:
    """Background colour of a strength: white → red/blue (purple: attention) by |strength|,
    starting at ``floor`` of the way; None below :data:`FADE`."""
    a = abs(strength)
    if a < FADE:
        return None
    mix = floor + (1 - floor) * min(a, 1.0)
    return tuple(round(255 + (c - 255) * mix) for c in end_colour(strength, kind))  # type: ignore[return-value]


def uniform_note(e: Explanation) -> str:
    """The attention legend: what white and full colour mean for this text."""
    n = len(e.seen)
    if not n:
        return ""
    return (f"white: at or below the uniform weight 1/{n} = {1 / n:.3g}; full colour: "
            f"{FULL_AT_UNIFORM:g}× uniform ({min(FULL_AT_UNIFORM / n, 1.0):.3g}) or more")


def css(c: Sequence[int]) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


def hex_of(c: Sequence[int]) -> str:
    """``#rrggbb`` (matplotlib's form) of an RGB colour."""
    return "#{:02x}{:02x}{:02x}".format(*c[:3])
