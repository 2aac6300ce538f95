"""Texts → token-id arrays stored end to end, padded a batch at a time, and the one rule that
cuts them into batches.

Everything here is numpy only, so the ONNX runtime path (which must not import torch) encodes
and batches exactly like the PyTorch path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlab.errors import DataError
from embedlab.text import UNK_ID, Preprocessor, Vocabulary

#: texts per forward call at inference: on CPU a 1024-row batch costs more in page faults than
#: in arithmetic; 256 gave the best texts/s for the cnn (1 thread: 4.2k → 7.6k texts/s)
INFERENCE_BATCH = 256
#: a batch of ``batch_size`` rows holds rows of up to this many tokens; a batch whose longest row
#: is longer has fewer rows (rows × longest ≤ batch_size × BATCH_TOKENS, down to one text alone),
#: so padding to the longest row never costs more than a full batch of 512-token rows (a model
#: with a fixed length pads every row to it whatever the rows' lengths). Under the default
#: 400-token cut no batch is ever shortened by it; it matters with ``vocab.max_length: null``
BATCH_TOKENS = 512


@dataclass
class EncodedArrays:
    """Each text's token ids, stored end to end: row ``i`` is ``flat[starts[i] : starts[i] +
    lengths[i]]``; ``known`` counts its in-vocabulary tokens.

    Rows are padded only a batch at a time (:meth:`batch`), so memory follows the number of
    tokens: one long document among short texts costs its own tokens, not the number of texts
    times its length. :meth:`subset` shares ``flat``.
    """

    flat: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    known: np.ndarray

    @classmethod
    def of(cls, flat: np.ndarray, lengths: np.ndarray) -> EncodedArrays:
        """Rows stored end to end (``lengths`` ids each, in order), with each row's count of
        in-vocabulary tokens."""
        lengths = np.asarray(lengths, dtype=np.int64)
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        seen = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum(flat > UNK_ID, out=seen[1:])
        return cls(flat, starts, lengths, seen[starts + lengths] - seen[starts])

    @classmethod
    def from_padded(cls, ids: np.ndarray, lengths: np.ndarray) -> EncodedArrays:
        """Rows from a right-padded ``[n, width]`` id array and each row's length."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if len(lengths) != len(ids) or (len(lengths) and int(lengths.max()) > ids.shape[1]):
            raise ValueError(f"lengths must give one length per row, each at most the width "
                             f"{ids.shape[1]}; found {len(lengths)} lengths for {len(ids)} rows, "
                             f"the longest {int(lengths.max(initial=0))}")
        return cls.of(ids[np.arange(ids.shape[1]) < lengths[:, None]], lengths)

    def __len__(self) -> int:
        return len(self.lengths)

    def subset(self, rows: np.ndarray) -> EncodedArrays:
        """The encoding of rows ``rows`` only (in that order; ``flat`` is shared, not copied)."""
        return EncodedArrays(self.flat, self.starts[rows], self.lengths[rows], self.known[rows])

    def padded(self, rows: np.ndarray, width: int) -> np.ndarray:
        """Rows ``rows`` as one ``[len(rows), width]`` array, right-padded with 0 (longer rows
        cut to ``width``), in ``flat``'s dtype."""
        lengths = np.minimum(self.lengths[rows], width)
        out = np.zeros((len(lengths), width), dtype=self.flat.dtype)
        total = int(lengths.sum())
        if total:
            ends = np.cumsum(lengths)
            source = np.repeat(self.starts[rows] - (ends - lengths), lengths) + np.arange(total)
            out[np.arange(width) < lengths[:, None]] = self.flat[source]
        return out

    def batch(self, rows: np.ndarray, fixed_length: int | None = None,
              min_length: int = 1) -> np.ndarray:
        """Rows ``rows`` padded to their longest (at least ``min_length``), or to
        ``fixed_length``: :func:`batch_width`'s rule."""
        return self.padded(rows, batch_width(self.lengths[rows], fixed_length, min_length))


def check_texts(texts: Any, name: str = "texts", *, allow_empty: bool = True) -> list[str]:
    """``texts`` as a list of strings, or a one-line :class:`DataError` (a ``ValueError``).

    The one input check of every text entry point (predictors, the estimator): a single string is
    refused (it is not split into characters); so are None, 2-D input, and non-strings inside,
    named by index. ``allow_empty=False`` also refuses an empty list (``fit`` needs texts).
    """
    if isinstance(texts, (str, bytes)):
        raise DataError(f"{name} must be a list of texts, found a single {type(texts).__name__}; "
                        f"wrap it in a list: [{name.lower()}]")
    if texts is None:
        raise DataError(f"{name} must be a list of texts, found None")
    if getattr(texts, "ndim", 1) != 1:
        raise DataError(f"{name} must be 1-D (one text per sample); found shape "
                        f"{getattr(texts, 'shape', None)}")
    try:
        out = list(texts)
    except TypeError:
        raise DataError(f"{name} must be a list of texts, found {type(texts).__name__}") from None
    bad = [i for i, t in enumerate(out) if not isinstance(t, str)]
    if bad:
        shown = ", ".join(f"{i} ({type(out[i]).__name__})" for i in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DataError(f"{name} must hold strings; found non-strings at index {shown}{more}")
    if not out and not allow_empty:
        raise DataError(f"{name} is empty: found 0 texts, at least 1 is required")
    return out


def encode_texts(preprocessor: Preprocessor, vocab: Vocabulary, texts: Sequence[str],
                 fixed_length: int | None = None, dtype: type = np.int32) -> EncodedArrays:
    """Preprocess and encode raw texts the way the model was trained."""
    flat, lengths = vocab.encode_flat(preprocessor.batch(list(texts)), fixed_length, dtype=dtype)
    return EncodedArrays.of(flat, lengths)


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Row indices in batches of similar length (stable order: shortest first), cut by
    :func:`cut_batches`."""
    order = np.argsort(lengths, kind="stable")
    yield from cut_batches(order, lengths[order], batch_size)


def cut_batches(order: np.ndarray, lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """``order`` (row indices; ``lengths``: theirs, in that order) cut into consecutive batches
    of ``batch_size`` rows, fewer where a batch padded to its longest row would hold more than
    ``batch_size`` × :data:`BATCH_TOKENS` ids (never fewer than one row)."""
    cells = batch_size * BATCH_TOKENS
    if not len(order) or batch_size * int(lengths.max()) <= cells:
        for start in range(0, len(order), batch_size):
            yield order[start:start + batch_size]
        return
    start = 0
    while start < len(order):
        widths = np.maximum.accumulate(np.maximum(lengths[start:start + batch_size], 1))
        rows = max(int((np.arange(1, len(widths) + 1) * widths <= cells).sum()), 1)
        yield order[start:start + rows]
        start += rows


def batch_width(lengths: np.ndarray, fixed_length: int | None, min_length: int = 1) -> int:
    """Columns a batch keeps: its longest text (at least ``min_length``), or the fixed length."""
    if fixed_length is not None:
        return fixed_length
    return max(int(lengths.max(initial=0)), min_length, 1)
