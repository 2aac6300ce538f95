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
    batch_width,
    length_sorted_batches,
)
from embedlab.text.vocab import Vocabulary


@dataclass
class EncodedTexts:
    """Token ids right-padded with 0, their lengths, and (optionally) label indices."""

    ids: torch.Tensor  # int32 [N, L]
    lengths: torch.Tensor  # int64 [N]
    y: torch.Tensor | None = None  # int64 [N]; multi-label: float32 indicator rows [N, C]
    fixed_length: int | None = None

    @classmethod
    def build(cls, vocab: Vocabulary, texts: list[str], y: np.ndarray | None = None,
              fixed_length: int | None = None) -> EncodedTexts:
        """Encode preprocessed texts; ``fixed_length`` pads/truncates every row to it."""
        ids, lengths = vocab.encode_padded(texts, fixed_length, dtype=np.int32)
        return cls.from_arrays(ids, lengths, y, fixed_length)

    @classmethod
    def from_arrays(cls, ids: np.ndarray, lengths: np.ndarray, y: np.ndarray | None = None,
                    fixed_length: int | None = None) -> EncodedTexts:
        dtype = torch.float32 if y is not None and np.ndim(y) == 2 else torch.int64
        return cls(torch.from_numpy(ids), torch.from_numpy(lengths),
                   None if y is None else torch.as_tensor(y, dtype=dtype), fixed_length)

    def __len__(self) -> int:
        return self.ids.shape[0]

    def arrays(self) -> EncodedArrays:
        """These rows as the predictors' :class:`EncodedArrays` (what ``encode_arrays`` gives
        for the texts they were encoded from: the same ids, lengths and known-token counts;
        the ids stay int32 and share this object's memory)."""
        return EncodedArrays.of(self.ids.numpy(), self.lengths.numpy())

    def take(self, rows: np.ndarray) -> EncodedTexts:
        """These rows (repeats allowed, as oversampling makes), labels included."""
        index = torch.as_tensor(rows, dtype=torch.int64)
        return EncodedTexts(self.ids.index_select(0, index), self.lengths.index_select(0, index),
                            None if self.y is None else self.y.index_select(0, index),
                            self.fixed_length)

    def batch(self, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` as int64, trimmed to the longest of them (unless fixed length)."""
        rows = self.ids.index_select(0, index)
        width = batch_width(self.lengths.index_select(0, index).numpy(), self.fixed_length)
        return rows[:, :width].long()

    def batches(self, batch_size: int, *, by_length: bool = False,
                shard: tuple[int, int] = (0, 1)) -> Iterator[torch.Tensor]:
        """Yield index tensors in input order. ``by_length`` groups similar lengths (prediction
        speed); ``shard=(rank, world)`` gives each distributed worker its own slice. Training's
        shuffled epochs are cut by :func:`embedlab.training.loader.shard_batches`."""
        n = len(self)
        if by_length and shard[1] == 1:
            for index in length_sorted_batches(self.lengths.numpy(), batch_size):
                yield torch.from_numpy(index)
            return
        order = torch.argsort(self.lengths, stable=True) if by_length else torch.arange(n)
        rank, world = shard
        if world > 1:
            order = order[rank::world]
        for start in range(0, len(order), batch_size):
            yield order[start:start + batch_size]


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
