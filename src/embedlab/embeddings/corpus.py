"""Turning raw text into the tokenised sentences word2vec/fastText train on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from embedlab.errors import DataError
from embedlab.text.preprocess import Preprocessor

# A sentence: text up to (and including) a run of . ! ? plus closing quotes/brackets, or up to
# a line break. Abbreviations ("Mr.") split too, which costs word2vec little.
_SENTENCE = re.compile(r"[^.!?\r\n]+(?:[.!?]+[\"'\u2019\u201d)\]]*)?")
_FALLBACK_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences on ``. ! ?`` and line breaks (empty pieces dropped).

    >>> split_sentences("He ran. Did she?\\nYes!")
    ['He ran.', 'Did she?', 'Yes!']
    """
    return [s for s in (m.group().strip() for m in _SENTENCE.finditer(text)) if s]


def read_corpus(path: str | Path, encoding: str = "utf-8") -> str:
    """Read a plain-text corpus, with one-line errors for a missing or undecodable file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"corpus file {path} not found")
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}' for corpus {path}") from None
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        hint = next((enc for enc in _FALLBACK_ENCODINGS if enc != encoding and _decodes(data, enc)),
                    None)
        raise DataError(
            f"corpus {path} line {line} is not valid {encoding} (byte 0x{data[e.start]:02x})"
            + (f"; try encoding='{hint}' (--encoding {hint})" if hint else "")
        ) from None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def sentences_from_texts(
    texts: Iterable[str],
    *,
    split: bool = True,
    lowercase: bool = True,
    punctuation: Literal["separate", "remove", "keep"] = "remove",
    remove_stopwords: bool = False,
) -> list[list[str]]:
    """Tokenised sentences from raw texts (the seed recipe: lower-case, strip punctuation)."""
    pre = Preprocessor(lowercase=lowercase, remove_stopwords=remove_stopwords,
                       punctuation=punctuation)
    out: list[list[str]] = []
    for text in texts:
        for sentence in split_sentences(text) if split else [text]:
            tokens = pre.tokenize(sentence)
            if tokens:
                out.append(tokens)
    return out
