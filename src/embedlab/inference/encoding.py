"""Texts → padded token-id arrays, and the one rule that cuts them into batches.

Everything here is numpy only, so the ONNX runtime path (which must not import torch) encodes
and batches exactly like the PyTorch path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from embedlab.errors import DataError
from embedlab.text import UNK_ID, Preprocessor, Vocabulary

#: texts per forward call at inference: on CPU a 1024-row batch costs more in page faults than
#: in arithmetic; 256 gave the best texts/s for the cnn (1 thread: 4.2k → 7.6k texts/s)
INFERENCE_BATCH = 256


@dataclass
class EncodedArrays:
    """Token ids right-padded with 0 (``[n, width]``), real lengths and in-vocabulary counts."""

    ids: np.ndarray
    lengths: np.ndarray
    known: np.ndarray

    def __len__(self) -> int:
        return self.ids.shape[0]

    def subset(self, rows: np.ndarray) -> EncodedArrays:
        """The encoding of rows ``rows`` only (in that order)."""
        return EncodedArrays(self.ids[rows], self.lengths[rows], self.known[rows])


def check_texts(texts: Sequence[str] | str) -> list[str]:
    """A list of strings, or a one-line :class:`DataError` naming the first bad item."""
    if isinstance(texts, str):
        raise DataError("expected a list of texts, found a single string (wrap it in a list)")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise DataError(f"text {i}: expected a string, found {type(t).__name__}")
    return out


def encode_texts(preprocessor: Preprocessor, vocab: Vocabulary, texts: Sequence[str],
                 fixed_length: int | None = None, dtype: type = np.int64) -> EncodedArrays:
    """Preprocess and encode raw texts the way the model was trained."""
    ids, lengths = vocab.encode_padded(preprocessor.batch(list(texts)), fixed_length, dtype=dtype)
    known = (ids > UNK_ID).sum(1)
    return EncodedArrays(ids, lengths, known)


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Row indices in batches of similar length (stable order: shortest first)."""
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def batch_width(lengths: np.ndarray, fixed_length: int | None, min_length: int = 1) -> int:
    """Columns a batch keeps: its longest text (at least ``min_length``), or the fixed length."""
    if fixed_length is not None:
        return fixed_length
    return max(int(lengths.max(initial=0)), min_length, 1)
