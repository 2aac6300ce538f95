"""``build_embedding_matrix``: the initial weights of a classifier's embedding layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from embedlab.embeddings.vectors import Vectors
from embedlab.errors import ConfigError, EmbeddingError

OOV_MODES = ("zeros", "random", "subword")


@dataclass
class CoverageReport:
    """How much of a vocabulary the vectors cover.

    Attributes
    ----------
    n_words:
        Vocabulary size without the special tokens.
    n_found:
        Words found as spelled.
    n_lowercase:
        Words found only through their lower-cased form.
    n_subword:
        Words given a vector built from character n-grams (``oov="subword"``).
    n_missing:
        Words left with the OOV rule (zeros or random).
    vocab_share:
        ``(n_found + n_lowercase) / n_words`` (subword vectors are not "found").
    token_share:
        The same weighted by ``counts`` (training-token share); ``None`` without counts.
    top_missing:
        The most frequent missing words as ``(word, count)`` (count ``None`` without counts).
    """

    source: str
    dim: int
    oov: str
    n_words: int
    n_found: int
    n_lowercase: int
    n_subword: int
    n_missing: int
    vocab_share: float
    token_share: float | None
    top_missing: list[tuple[str, int | None]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-able dict."""
        d = asdict(self)
        d["top_missing"] = [list(t) for t in self.top_missing]
        return d

    def __str__(self) -> str:
        tokens = "" if self.token_share is None else f", {self.token_share:.1%} of tokens"
        missing = ", ".join(w for w, _ in self.top_missing[:5])
        return (
            f"{self.source}: {self.n_found + self.n_lowercase}/{self.n_words} words found "
            f"({self.vocab_share:.1%} of vocabulary{tokens}; {self.n_lowercase} via lower case, "
            f"{self.n_subword} from subwords, {self.n_missing} {self.oov})"
            + (f"; top missing: {missing}" if missing else "")
        )


def build_embedding_matrix(
    vectors: Vectors,
    words: Sequence[str],
    *,
    counts: Mapping[str, int] | None = None,
    oov: Literal["zeros", "random", "subword"] = "zeros",
    lowercase_fallback: bool = True,
    seed: int = 0,
    special_tokens: Sequence[str] = ("<PAD>", "<UNK>"),
    top_missing: int = 20,
) -> tuple[np.ndarray, CoverageReport]:
    """Rows of ``vectors`` for ``words`` (a vocabulary in id order), float32 ``(len(words), dim)``.

    Row *i* is the vector of ``words[i]``. The padding token (the first special token) gets
    zeros; the other special tokens follow the OOV rule (random for ``"subword"``). Words not
    found (also after lower-casing, when ``lowercase_fallback``) get zeros, small random
    values with the vectors' standard deviation, or — ``oov="subword"``, fastText only — the
    vector built from their character n-grams.

    Examples
    --------
    >>> m, report = build_embedding_matrix(glove, ["<PAD>", "<UNK>", "the"])  # doctest: +SKIP
    >>> m.shape, report.vocab_share  # doctest: +SKIP
    ((3, 50), 1.0)
    """
    if oov not in OOV_MODES:
        raise ConfigError(f"unknown oov mode '{oov}'; known: {', '.join(OOV_MODES)}")
    if oov == "subword" and not vectors.has_subwords:
        raise EmbeddingError(
            f"oov='subword' needs vectors with subword information (fastText .bin or trained "
            f"with method='fasttext'); {vectors.name} has none — use oov='zeros' or 'random'"
        )
    kv = vectors.kv
    index = kv.key_to_index
    specials = set(special_tokens)
    pad = special_tokens[0] if special_tokens else None
    rng = np.random.default_rng(seed)
    matrix = np.zeros((len(words), vectors.dim), dtype=np.float32)

    rows: list[int] = []
    src: list[int] = []
    n_lower = 0
    subword_rows: list[int] = []
    random_rows: list[int] = []
    missing: list[str] = []
    found_tokens = total_tokens = 0
    for i, word in enumerate(words):
        if word in specials:
            if word != pad and oov != "zeros":
                random_rows.append(i)
            continue
        count = counts.get(word, 0) if counts is not None else 0
        total_tokens += count
        j = index.get(word)
        if j is None and lowercase_fallback:
            j = index.get(word.lower())
            if j is not None:
                n_lower += 1
        if j is not None:
            rows.append(i)
            src.append(j)
            found_tokens += count
        elif oov == "subword" and vectors.can_embed(word):
            subword_rows.append(i)
        else:
            missing.append(word)
            if oov != "zeros":
                random_rows.append(i)
    if rows:
        order = np.argsort(src)  # sorted reads are kind to memory-mapped arrays
        matrix[np.asarray(rows)[order]] = kv.vectors[np.asarray(src)[order]]
    for i in subword_rows:
        matrix[i] = kv.get_vector(words[i])
    if random_rows:
        std = _vector_std(vectors)
        matrix[random_rows] = rng.normal(0.0, std, (len(random_rows), vectors.dim))

    n_words = sum(1 for w in words if w not in specials)
    n_found = len(rows)
    top: list[tuple[str, int | None]]
    if counts is not None:
        missing.sort(key=lambda w: -counts.get(w, 0))
        top = [(w, int(counts.get(w, 0))) for w in missing[:top_missing]]
    else:
        top = [(w, None) for w in missing[:top_missing]]
    report = CoverageReport(
        source=vectors.name,
        dim=vectors.dim,
        oov=oov,
        n_words=n_words,
        n_found=n_found - n_lower,
        n_lowercase=n_lower,
        n_subword=len(subword_rows),
        n_missing=len(missing),
        vocab_share=n_found / n_words if n_words else 0.0,
        token_share=(found_tokens / total_tokens if total_tokens else 0.0)
        if counts is not None else None,
        top_missing=top,
    )
    return matrix, report


def _vector_std(vectors: Vectors, sample: int = 10_000) -> float:
    """Standard deviation of the vector components (over the first ``sample`` words)."""
    data = np.asarray(vectors.kv.vectors[:sample], dtype=np.float64)
    return float(data.std()) if data.size else 0.1
