"""Map the tokens of a preprocessed text back to character spans of the ORIGINAL text.

The preprocessor unescapes HTML entities, may drop text in parentheses, lower-cases, separates
or removes punctuation and drops stop words, so ``"What's PERU?"`` becomes ``what ' s peru ?``.
:func:`token_spans` rebuilds the same normalised view of the original text with, for every
normalised character, the original characters it came from, then finds the tokens in order.
"""

from __future__ import annotations

import html
import re

from embedlab.text.preprocess import _PARENS, PreprocessConfig

_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")
_WORD = re.compile(r"[^\W_]")


def _units(text: str, unescape: bool) -> list[tuple[str, int, int]]:
    """``(string, start, end)`` per original character, or per HTML entity when unescaping."""
    units: list[tuple[str, int, int]] = []
    i = 0
    while i < len(text):
        if unescape and text[i] == "&":
            m = _ENTITY.match(text, i)
            if m:
                value = html.unescape(m.group(0))
                if value != m.group(0):
                    units.append((value, i, m.end()))
                    i = m.end()
                    continue
        units.append((text[i], i, i + 1))
        i += 1
    return units


def _normalised(text: str, config: PreprocessConfig) -> tuple[str, list[int], list[int]]:
    """The text as the preprocessor sees it before splitting, with each character's origin."""
    units = _units(text, config.unescape_html and "&" in text)
    if config.remove_parentheses:
        joined = "".join(u[0] for u in units)
        owner = [k for k, u in enumerate(units) for _ in u[0]]
        dropped: set[int] = set()
        for m in _PARENS.finditer(joined):
            dropped.update(owner[m.start():m.end()])
        units = [(" " if k in dropped else u[0], u[1], u[2]) for k, u in enumerate(units)]
    if config.lowercase:
        joined = "".join(u[0] for u in units)
        lowered = joined.lower()
        # per-character lower() gives each unit's length (İ → i̇ grows); the whole-string
        # lower() gives the characters (its only context rule, final sigma, keeps lengths)
        pos = 0
        out = []
        for s, a, b in units:
            size = len(s.lower())
            out.append((lowered[pos:pos + size], a, b))
            pos += size
        units = out
    chars, starts, ends = [], [], []
    for s, a, b in units:
        for c in s:
            chars.append(c)
            starts.append(a)
            ends.append(b)
    return "".join(chars), starts, ends


def _is_word(c: str) -> bool:
    return bool(_WORD.match(c))


def _fits(norm: str, pos: int, token: str, keep_punct: bool) -> bool:
    """Does ``token`` at ``pos`` stand alone, as the preprocessor would have cut it?"""
    before = norm[pos - 1] if pos > 0 else " "
    end = pos + len(token)
    after = norm[end] if end < len(norm) else " "
    if keep_punct:
        return before.isspace() and after.isspace()
    if _is_word(token[0]) and _is_word(before):
        return False
    return not (_is_word(token[-1]) and _is_word(after))


def token_spans(text: str, tokens: list[str], config: PreprocessConfig) -> list[tuple[int, int]]:
    """``[(start, end)]`` in ``text`` for each token of ``preprocessor(text).split()``.

    Tokens are found left to right, each after the previous one, so repeated words get their own
    occurrence. A token that cannot be placed (it should not happen) gets an empty span at the
    current position rather than a wrong one.
    """
    norm, starts, ends = _normalised(text, config)
    keep = config.punctuation == "keep"
    spans = []
    cursor = 0
    for token in tokens:
        pos = norm.find(token, cursor)
        while pos >= 0 and not _fits(norm, pos, token, keep):
            pos = norm.find(token, pos + 1)
        if pos < 0:
            here = starts[cursor] if cursor < len(starts) else len(text)
            spans.append((here, here))
            continue
        last = pos + len(token) - 1
        spans.append((starts[pos], ends[last]))
        cursor = last + 1
    return spans
