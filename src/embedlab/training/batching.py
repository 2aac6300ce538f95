"""Encoded texts held as one padded tensor, cut into batches trimmed to their longest row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from embedlab.text.vocab import Vocabulary


@dataclass
class EncodedTexts:
    """Token ids right-padded with 0, their lengths, and (optionally) label indices."""

    ids: torch.Tensor  # int32 [N, L]
    lengths: torch.Tensor  # int64 [N]
    y: torch.Tensor | None = None  # int64 [N]
    fixed_length: int | None = None

    @classmethod
    def build(cls, vocab: Vocabulary, texts: list[str], y: np.ndarray | None = None,
              fixed_length: int | None = None) -> EncodedTexts:
        """Encode preprocessed texts; ``fixed_length`` pads/truncates every row to it."""
        ids, lengths = vocab.encode_padded(texts, fixed_length, dtype=np.int32)
        return cls(torch.from_numpy(ids), torch.from_numpy(lengths),
                   None if y is None else torch.as_tensor(y, dtype=torch.int64), fixed_length)

    def __len__(self) -> int:
        return self.ids.shape[0]

    def batch(self, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` as int64, trimmed to the longest of them (unless fixed length)."""
        rows = self.ids.index_select(0, index)
        if self.fixed_length is None:
            width = max(int(self.lengths.index_select(0, index).max()), 1)
            rows = rows[:, :width]
        return rows.long()

    def batches(self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None,
                by_length: bool = False, shard: tuple[int, int] = (0, 1)) -> Iterator[torch.Tensor]:
        """Yield index tensors. ``by_length`` groups similar lengths (prediction speed);
        ``shard=(rank, world)`` gives each distributed worker its own slice."""
        n = len(self)
        if shuffle:
            order = torch.randperm(n, generator=generator)
        elif by_length:
            order = torch.argsort(self.lengths, stable=True)
        else:
            order = torch.arange(n)
        rank, world = shard
        if world > 1:
            order = order[rank::world]
        for start in range(0, len(order), batch_size):
            yield order[start:start + batch_size]
