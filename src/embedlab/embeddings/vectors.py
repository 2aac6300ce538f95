"""``Vectors``: frozen word vectors with the queries users ask of them.

A thin wrapper over gensim's :class:`~gensim.models.KeyedVectors` (or
:class:`~gensim.models.fasttext.FastTextKeyedVectors`, which adds character n-gram vectors for
out-of-vocabulary words). The data stay plain (``kv.vectors`` is an ndarray, possibly
memory-mapped; ``words`` is a list); norms are computed lazily by gensim on the first
similarity query.

Examples
--------
>>> from embedlab.embeddings import load
>>> v = load("glove-6b-50d")
>>> v.analogy(positive=["king", "woman"], negative=["man"], topn=1)  # doctest: +SKIP
[('queen', 0.8524)]
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from gensim.models import KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors

from embedlab.atomic import atomic_dir, atomic_file, check_destination, sha256_file
from embedlab.errors import ConfigError, EmbeddingError
from embedlab.kinds import VECTORS_KIND

#: Files inside a directory written by :meth:`Vectors.save` (no pickle: ``.npy`` + JSON).
MANIFEST_FILE = "manifest.json"
VECTORS_FILE = "vectors.npy"
WORDS_FILE = "words.json"
VOCAB_FILE = "vectors_vocab.npy"
NGRAMS_FILE = "vectors_ngrams.npy"
VECTORS_VERSION = 2
#: Files of the pickle-based directories written by embedlab 0.1 (``vectors.kv`` is gensim's
#: pickle; loading it needs the explicit ``format="gensim"``).
LEGACY_NATIVE_FILE = "vectors.kv"
LEGACY_META_FILE = "meta.json"

ExportFormat = Literal["word2vec-text", "word2vec-binary", "glove-text", "fasttext-bin", "gensim"]
EXPORT_FORMATS: tuple[str, ...] = (
    "word2vec-text", "word2vec-binary", "glove-text", "fasttext-bin", "gensim",
)


class Vectors:
    """Word vectors plus the queries on them.

    Parameters
    ----------
    kv:
        The gensim vectors (``KeyedVectors`` or ``FastTextKeyedVectors``).
    name:
        Where the vectors came from (a registered name or a path), used in messages.
    meta:
        Free-form provenance (training parameters, source file, ...), saved with :meth:`save`.
    model:
        The trained gensim model when there is one (only needed to export ``fasttext-bin``).
    """

    def __init__(
        self,
        kv: KeyedVectors,
        *,
        name: str = "vectors",
        meta: dict[str, Any] | None = None,
        model: Any = None,
    ) -> None:
        self.kv = kv
        self.name = name
        self.meta: dict[str, Any] = dict(meta or {})
        self.model = model

    # ------------------------------------------------------------------ plain data
    @property
    def words(self) -> list[str]:
        """The vocabulary in index order (most frequent first for most sources)."""
        return self.kv.index_to_key

    @property
    def dim(self) -> int:
        """Vector size."""
        return int(self.kv.vector_size)

    @property
    def has_subwords(self) -> bool:
        """True when out-of-vocabulary words get vectors from character n-grams (fastText)."""
        return isinstance(self.kv, FastTextKeyedVectors) and self.kv.bucket > 0

    def __len__(self) -> int:
        return len(self.kv.index_to_key)

    def __contains__(self, word: object) -> bool:
        """Whether ``word`` is in the vocabulary (subword-only words are not)."""
        return word in self.kv.key_to_index

    def __repr__(self) -> str:
        sub = ", subwords" if self.has_subwords else ""
        return f"Vectors({self.name!r}, words={len(self)}, dim={self.dim}{sub})"

    def can_embed(self, word: str) -> bool:
        """Whether :meth:`vector` answers for ``word`` (in vocabulary, or built from subwords)."""
        if word in self.kv.key_to_index:
            return True
        return self.has_subwords and len(_ngram_hashes(self.kv, word)) > 0

    # ------------------------------------------------------------------ queries
    def vector(self, word: str) -> np.ndarray:
        """The vector of ``word`` (a copy, float32); subword-built for fastText OOV words.

        Raises
        ------
        EmbeddingError
            ``word`` is out of vocabulary and the vectors have no subword information.
        """
        self._check(word)
        return np.array(self.kv.get_vector(word), dtype=np.float32)

    def neighbors(
        self, word_or_vector: str | np.ndarray, topn: int = 10
    ) -> list[tuple[str, float]]:
        """The ``topn`` nearest words by cosine similarity, excluding the query word itself."""
        if topn < 1:
            raise ConfigError(f"topn must be at least 1; found {topn}")
        if isinstance(word_or_vector, str):
            self._check(word_or_vector)
            query = self.kv.get_vector(word_or_vector)
            exclude = {word_or_vector}
        else:
            query = np.asarray(word_or_vector, dtype=np.float32)
            if query.shape != (self.dim,):
                raise EmbeddingError(
                    f"query vector must have shape ({self.dim},) for {self.name}; "
                    f"found {query.shape}"
                )
            exclude = set()
        if not np.any(query):
            what = f"'{word_or_vector}' has" if exclude else "the query is"
            raise EmbeddingError(f"{what} an all-zero vector in {self.name}: its cosine "
                                 "similarity to any word is undefined")
        hits = self._ranked(self.kv.most_similar, topn + len(exclude), positive=[query])
        return [(w, s) for w, s in hits if w not in exclude][:topn]

    def analogy(
        self,
        positive: Sequence[str] | str,
        negative: Sequence[str] | str = (),
        topn: int = 10,
        method: Literal["add", "mul"] = "add",
    ) -> list[tuple[str, float]]:
        """Solve ``a : b :: c : ?`` as ``positive=[b, c], negative=[a]``.

        ``method="add"`` is 3CosAdd (gensim ``most_similar``), ``"mul"`` is 3CosMul (Levy &
        Goldberg 2014, gensim ``most_similar_cosmul``). The query words are excluded.
        """
        pos = [positive] if isinstance(positive, str) else list(positive)
        neg = [negative] if isinstance(negative, str) else list(negative)
        if not pos:
            raise ConfigError("analogy needs at least one positive word")
        both = sorted(set(pos) & set(neg))
        if both:  # they cancel out: the query would be no direction at all
            raise ConfigError(f"{', '.join(map(repr, both))} is both a positive and a negative "
                              "word; give each word on one side")
        for word in pos + neg:
            self._check(word)
            if not np.any(self.kv.get_vector(word)):
                raise EmbeddingError(f"'{word}' has an all-zero vector in {self.name}: its "
                                     "cosine similarity to any word is undefined")
        if method not in ("add", "mul"):
            raise ConfigError(f"unknown analogy method '{method}'; known: add, mul")
        ask = self.kv.most_similar if method == "add" else self.kv.most_similar_cosmul
        return self._ranked(ask, topn, positive=pos, negative=neg)

    def _ranked(self, ask: Any, topn: int, **query: Any) -> list[tuple[str, float]]:
        """gensim's ranking without the words whose vector is all zeros: their cosine is nan
        (0/0), which gensim would rank first and print as the answer."""
        self.kv.fill_norms()
        zeros = int(np.count_nonzero(self.kv.norms == 0))
        with np.errstate(invalid="ignore", divide="ignore"):
            hits = ask(topn=topn + zeros, **query)
        return [(w, float(s)) for w, s in hits if np.isfinite(s)][:topn]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        self._check(a)
        self._check(b)
        return float(self.kv.similarity(a, b))

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others (gensim ``doesnt_match``)."""
        words = list(words)
        if len(words) < 2:
            raise ConfigError(f"doesnt_match needs at least 2 words; found {len(words)}")
        for word in words:
            self._check(word)
        return str(self.kv.doesnt_match(words))

    # ------------------------------------------------------------------ OOV handling
    def _check(self, word: str) -> None:
        if word in self.kv.key_to_index:
            return
        if self.has_subwords:
            if len(_ngram_hashes(self.kv, word)):
                return
            raise EmbeddingError(
                f"'{word}' is not in the vocabulary of {self.name} and has no character "
                f"n-grams of length {self.kv.min_n}-{self.kv.max_n} to build a vector from"
            )
        raise EmbeddingError(
            f"'{word}' is not in the vocabulary of {self.name} ({len(self)} words, no subword "
            f"information){self._closest_hint(word)}"
        )

    def closest_known(self, word: str, n: int = 3) -> list[str]:
        """Known words spelled like ``word`` (case variants first, then close spellings)."""
        found: list[str] = []
        for variant in (word.lower(), word.capitalize(), word.upper()):
            if variant != word and variant in self.kv.key_to_index and variant not in found:
                found.append(variant)
        # difflib over the whole of a 2M-word vocabulary is slow: look at the 100k most
        # frequent words of similar length only.
        pool = [w for w in self.words[:100_000] if abs(len(w) - len(word)) <= 4]
        for w in difflib.get_close_matches(word.lower(), pool, n=n, cutoff=0.7):
            if w not in found:
                found.append(w)
        return found[:n]

    def _closest_hint(self, word: str) -> str:
        close = self.closest_known(word)
        return "; closest known: " + ", ".join(f"'{w}'" for w in close) if close else ""

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save to directory ``path`` in a format whose loading cannot execute code.

        The directory holds ``vectors.npy`` (float array, memory-mapped on load),
        ``words.json`` (the vocabulary as a JSON list: any string survives, "nan" and "null"
        included), for fastText vectors ``vectors_vocab.npy`` + ``vectors_ngrams.npy`` (the
        subword tables), and ``manifest.json`` (kind ``"embedlab-vectors"``, shapes, sizes,
        sha256 of every file and the provenance in :attr:`meta`). It is written to a temporary
        sibling and renamed into place by :func:`embedlab.atomic.atomic_dir`: an existing
        non-empty ``path`` is replaced only with ``overwrite=True`` and only when it is an
        embedlab vectors directory (anything else raises :class:`ArtifactError`).
        """
        path = Path(path)
        check_destination(path, VECTORS_KIND, overwrite)
        arrays: dict[str, np.ndarray] = {VECTORS_FILE: np.asarray(self.kv.vectors)}
        subwords = None
        if isinstance(self.kv, FastTextKeyedVectors):
            subwords = {"min_n": int(self.kv.min_n), "max_n": int(self.kv.max_n),
                        "bucket": int(self.kv.bucket)}
            if self.kv.bucket > 0:
                arrays[VOCAB_FILE] = np.asarray(self.kv.vectors_vocab)
                arrays[NGRAMS_FILE] = np.asarray(self.kv.vectors_ngrams)
        with atomic_dir(path, kind=VECTORS_KIND, overwrite=overwrite) as tmp:
            files: dict[str, dict[str, Any]] = {}
            for name, array in arrays.items():
                np.save(tmp / name, np.ascontiguousarray(array), allow_pickle=False)
                files[name] = {"shape": list(array.shape), "dtype": str(array.dtype)}
            (tmp / WORDS_FILE).write_text(
                json.dumps(list(self.words), ensure_ascii=False) + "\n", encoding="utf-8")
            files[WORDS_FILE] = {"count": len(self)}
            for name, entry in files.items():
                entry["bytes"] = (tmp / name).stat().st_size
                entry["sha256"] = sha256_file(tmp / name)
            manifest = {
                "kind": VECTORS_KIND,
                "version": VECTORS_VERSION,
                "name": self.name,
                "words": len(self),
                "dim": self.dim,
                "subwords": subwords,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "files": files,
                "meta": {k: v for k, v in self.meta.items() if k not in {"format", "file"}},
            }
            (tmp / MANIFEST_FILE).write_text(
                json.dumps(manifest, indent=2, default=str, ensure_ascii=False) + "\n",
                encoding="utf-8")
        return path

    def export(self, path: str | Path, format: ExportFormat = "word2vec-text") -> Path:
        """Write the vectors as ``word2vec-text``/``word2vec-binary``/``glove-text`` (no header),
        for a fastText model trained here ``fasttext-bin`` (Facebook's format, subwords kept), or
        ``gensim``: one file in gensim's native ``KeyedVectors.save`` format, for gensim users.
        That format is a Python pickle; embedlab loads it only when asked by name
        (``format="gensim"``), because unpickling a file can execute code.
        """
        if format not in EXPORT_FORMATS:
            raise ConfigError(
                f"unknown export format '{format}'; known: {', '.join(EXPORT_FORMATS)}"
            )
        path = Path(path)
        with atomic_file(path) as tmp:
            if format == "fasttext-bin":
                from gensim.models.fasttext import FastText, save_facebook_model

                if not isinstance(self.model, FastText):
                    raise EmbeddingError(
                        f"cannot export {self.name} as fasttext-bin: only a fastText model "
                        "trained with embedlab (in this session) has the full model it needs"
                    )
                save_facebook_model(self.model, str(tmp), encoding="utf-8")
            elif format == "gensim":
                self.kv.save(str(tmp), separately=[])
            else:
                self.kv.save_word2vec_format(
                    str(tmp),
                    binary=format == "word2vec-binary",
                    write_header=format != "glove-text",
                )
        return path


def _ngram_hashes(kv: FastTextKeyedVectors, word: str) -> list[int]:
    """The bucket of each character n-gram of ``word`` (gensim answers a list)."""
    from gensim.models.fasttext import ft_ngram_hashes

    return list(ft_ngram_hashes(word, kv.min_n, kv.max_n, kv.bucket))


def head(kv: KeyedVectors, limit: int) -> KeyedVectors:
    """A new ``KeyedVectors`` with the first ``limit`` words (a view of the same array)."""
    if limit >= len(kv.index_to_key):
        return kv
    out = KeyedVectors(kv.vector_size, count=0, dtype=kv.vectors.dtype)
    out.vectors = kv.vectors[:limit]
    out.index_to_key = kv.index_to_key[:limit]
    out.key_to_index = {w: i for i, w in enumerate(out.index_to_key)}
    return out


def from_arrays(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    """Wrap ``words`` and a ``(len(words), dim)`` array (kept as is, e.g. memory-mapped)."""
    kv = KeyedVectors(vectors.shape[1], count=0, dtype=vectors.dtype)
    kv.vectors = vectors
    kv.index_to_key = words
    kv.key_to_index = dict(zip(words, range(len(words))))  # ~3x faster than a dict comprehension
    return kv


def stack(parts: Sequence[Vectors], *, name: str | None = None) -> Vectors:
    """Several sources' vectors side by side, one row per word (as Flair's
    ``StackedEmbeddings``): a word's vector is the concatenation of its vector in each part, in
    order, so the dimension is the sum of theirs. The words are every part's, in order of first
    appearance; a part that lacks a word gives zeros in its columns, or, with subword
    information (fastText ``.bin``), the word's subword vector. The parts are not rescaled.

    >>> both = stack([load("glove-6b-50d"), load("minilm-static-256")])  # doctest: +SKIP
    >>> both.dim  # doctest: +SKIP
    306
    """
    if len(parts) < 2:
        raise ConfigError(f"stacking needs at least two sets of vectors, found {len(parts)}")
    row: dict[str, int] = {}
    for part in parts:
        for word in part.words:
            row.setdefault(word, len(row))
    words = list(row)
    out = np.zeros((len(words), sum(p.dim for p in parts)), dtype=np.float32)
    at = 0
    for part in parts:
        rows = np.fromiter((row[w] for w in part.words), dtype=np.int64, count=len(part))
        out[rows, at:at + part.dim] = np.asarray(part.kv.vectors, dtype=np.float32)
        if part.has_subwords and len(part) < len(words):  # zeros for a word with no n-gram
            for i, word in enumerate(words):
                if word not in part:
                    out[i, at:at + part.dim] = part.kv.get_vector(word)
        at += part.dim
    if not np.isfinite(out).all():
        raise EmbeddingError("stacked vectors hold NaN or infinite values")
    label = name or "+".join(p.name for p in parts)
    meta = {"stacked": [{"source": p.name, "dim": p.dim, "words": len(p)} for p in parts]}
    return Vectors(from_arrays(words, out), name=label, meta=meta)
