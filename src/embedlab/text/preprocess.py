"""Text preprocessing: the seed recipe, every step switchable.

The steps run in this order: HTML unescape, drop text in parentheses, lower-case, punctuation
(separate into its own tokens, remove, or keep), stop-word removal, whitespace collapse.
Defaults were chosen by measurement (see ``benchmarks/``): stop-word removal is off because the
list deletes "what", "how", "not", which question-type and sentiment tasks need.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict

Punctuation = Literal["separate", "remove", "keep"]

_PARENS = re.compile(r"\([^()]*\)")
_PUNCT = re.compile(r"[^\w\s]|_")
# the same for ASCII text through str.translate, several times faster than the regex
_ASCII_PUNCT = [chr(i) for i in range(128) if _PUNCT.fullmatch(chr(i))]
_SEPARATE_ASCII = str.maketrans({c: f" {c} " for c in _ASCII_PUNCT})
_REMOVE_ASCII = str.maketrans({c: " " for c in _ASCII_PUNCT})


@lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    """The shipped English stop-word list (NLTK's 179 words)."""
    text = resources.files("embedlab.resources").joinpath("stopwords_en.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


class PreprocessConfig(BaseModel):
    """Switches for each preprocessing step."""

    model_config = ConfigDict(extra="forbid")

    lowercase: bool = True
    remove_stopwords: bool = False
    remove_parentheses: bool = False
    punctuation: Punctuation = "separate"
    unescape_html: bool = True


class Preprocessor:
    """Turn raw text into a normalised, whitespace-separated string.

    Examples
    --------
    >>> Preprocessor(punctuation="separate")("What is the capital of Peru?")
    'what is the capital of peru ?'
    >>> Preprocessor(remove_stopwords=True, remove_parentheses=True, punctuation="remove")(
    ...     "Oil prices rise (Reuters) again!")
    'oil prices rise'
    """

    def __init__(
        self,
        lowercase: bool = True,
        remove_stopwords: bool = False,
        remove_parentheses: bool = False,
        punctuation: Punctuation = "separate",
        unescape_html: bool = True,
    ) -> None:
        self.config = PreprocessConfig(
            lowercase=lowercase,
            remove_stopwords=remove_stopwords,
            remove_parentheses=remove_parentheses,
            punctuation=punctuation,
            unescape_html=unescape_html,
        )
        self._stop = english_stop_words() if remove_stopwords else frozenset()

    @classmethod
    def from_config(cls, config: PreprocessConfig) -> Preprocessor:
        return cls(**config.model_dump())

    def __call__(self, text: str) -> str:
        c = self.config
        if c.unescape_html and "&" in text:
            text = html.unescape(text)
        if c.remove_parentheses:
            text = _PARENS.sub(" ", text)
        if c.lowercase:
            text = text.lower()
        if c.punctuation == "separate":
            text = text.translate(_SEPARATE_ASCII) if text.isascii() else _PUNCT.sub(r" \g<0> ", text)
        elif c.punctuation == "remove":
            text = text.translate(_REMOVE_ASCII) if text.isascii() else _PUNCT.sub(" ", text)
        if self._stop:
            return " ".join(w for w in text.split() if w.lower() not in self._stop)
        return " ".join(text.split())

    def tokenize(self, text: str) -> list[str]:
        """Preprocess then split on whitespace."""
        return self(text).split()

    def batch(self, texts: list[str]) -> list[str]:
        return [self(t) for t in texts]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.model_dump().items())
        return f"Preprocessor({args})"
