"""Encoded texts and their batches, shared by training and prediction, and prediction's batched
forward pass (PyTorch)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from embedlab.inference.encoding import (
    INFERENCE_BATCH,
    EncodedArrays,
    cut_batches,
)
from embedlab.text.vocab import Vocabulary


@dataclass
class EncodedTexts:
    """Encoded texts (:class:`~embedlab.inference.encoding.EncodedArrays`: ids end to end,
    padded a batch at a time) and, optionally, label indices: the rows training and the
    PyTorch predictors run on."""

    rows: EncodedArrays
    y: torch.Tensor | None = None  # int64 [N]; multi-label: float32 indicator rows [N, C]
    fixed_length: int | None = None

    @classmethod
    def build(cls, vocab: Vocabulary, texts: list[str], y: np.ndarray | None = None,
              fixed_length: int | None = None) -> EncodedTexts:
        """Encode preprocessed texts; ``fixed_length`` pads/truncates every row to it."""
        flat, lengths = vocab.encode_flat(texts, fixed_length, dtype=np.int32)
        return cls.of(EncodedArrays.of(flat, lengths), y, fixed_length)

    @classmethod
    def of(cls, rows: EncodedArrays, y: np.ndarray | None = None,
           fixed_length: int | None = None) -> EncodedTexts:
        """``rows`` with labels ``y`` (class indices, or multi-label indicator rows)."""
        dtype = torch.float32 if y is not None and np.ndim(y) == 2 else torch.int64
        return cls(rows, None if y is None else torch.as_tensor(y, dtype=dtype), fixed_length)

    @classmethod
    def from_padded(cls, ids: np.ndarray, lengths: np.ndarray, y: np.ndarray | None = None,
                    fixed_length: int | None = None) -> EncodedTexts:
        """Rows from a right-padded ``[N, width]`` id array and each row's length."""
        return cls.of(EncodedArrays.from_padded(ids, lengths), y, fixed_length)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def lengths(self) -> torch.Tensor:
        """Each row's token count (int64 ``[N]``, sharing the rows' memory)."""
        return torch.from_numpy(self.rows.lengths)

    def arrays(self) -> EncodedArrays:
        """These rows as the predictors' :class:`EncodedArrays` (what ``encode_arrays`` gives
        for the texts they were encoded from: the same ids, lengths and known-token counts)."""
        return self.rows

    def take(self, rows: np.ndarray) -> EncodedTexts:
        """These rows (repeats allowed, as oversampling makes), labels included."""
        index = np.asarray(rows, dtype=np.int64)
        return EncodedTexts(self.rows.subset(index),
                            None if self.y is None else self.y.index_select(0, torch.from_numpy(index)),
                            self.fixed_length)

    def batch(self, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` as int64, padded to the longest of them (unless fixed length)."""
        return torch.from_numpy(self.rows.batch(index.numpy(), self.fixed_length)).long()

    def batches(self, batch_size: int, *, by_length: bool = False,
                shard: tuple[int, int] = (0, 1)) -> Iterator[torch.Tensor]:
        """Yield index tensors in input order, or with ``by_length`` grouped by similar length
        (prediction speed); a batch of long rows has fewer of them
        (:func:`~embedlab.inference.encoding.cut_batches`). ``shard=(rank, world)`` gives each
        distributed worker every ``world``-th row of that order, from ``rank`` (the workers'
        numbers of batches may then differ: callers all-reduce after the loop, not per batch).
        Training's shuffled epochs are cut by :func:`embedlab.training.loader.shard_batches`."""
        lengths = self.rows.lengths
        rank, world = shard
        order = np.argsort(lengths, kind="stable") if by_length else np.arange(len(self))
        if world > 1:
            order = order[rank::world]
        for index in cut_batches(order, lengths[order], batch_size):
            yield torch.from_numpy(index)


@torch.no_grad()
def predict_logits(model: nn.Module, data: EncodedTexts,
                   batch_size: int = INFERENCE_BATCH) -> torch.Tensor:
    """Logits for every row, computed in length-sorted batches (each trimmed to its longest
    text) and returned in input order: the PyTorch predictors' one forward pass (the ONNX runtime
    cuts its batches by the same rule, :func:`~embedlab.inference.encoding.length_sorted_batches`)."""
    was_training = model.training
    model.eval()
    parts, order = [], []
    for index in data.batches(batch_size, by_length=True):
        parts.append(model(data.batch(index)))
        order.append(index)
    model.train(was_training)
    if not parts:
        return torch.empty(len(data), 0)
    logits = torch.cat(parts)
    result = torch.empty_like(logits)
    result[torch.cat(order)] = logits
    return result
