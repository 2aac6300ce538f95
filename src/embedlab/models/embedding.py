"""One embedding-layer spec shared by every model: dimension, init, frozen or fine-tuned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np
import torch
from torch import nn

from embedlab.errors import ConfigError

PAD_ID = 0
UNK_ID = 1


@dataclass
class EmbeddingSpec:
    """How a model builds its embedding layer.

    Parameters
    ----------
    dim:
        Vector size. Must equal ``matrix.shape[1]`` when a matrix is given.
    matrix:
        Optional ``(vocab_size, dim)`` float array whose row *i* initialises token id *i*
        (``None``: random normal init with ``init_std``; row 0 — padding — is always zero).
    freeze:
        Keep the weights fixed during training (only meaningful with a matrix).
    init_std:
        Standard deviation of the random normal init (PyTorch's own default is 1; small
        vectors, as word2vec and fastText initialise theirs, are the default here).
    """

    dim: int = 100
    matrix: np.ndarray | None = None
    freeze: bool = False
    init_std: float = 0.01

    def __post_init__(self) -> None:
        if self.matrix is not None:
            if self.matrix.ndim != 2:
                raise ConfigError(
                    f"embedding matrix must be 2-D (vocab, dim); found shape {self.matrix.shape}"
                )
            if self.matrix.shape[1] != self.dim:
                raise ConfigError(
                    f"embedding dimension mismatch: model expects dim={self.dim}, "
                    f"pretrained matrix has dim={self.matrix.shape[1]}"
                )

    @overload
    def build(self, vocab_size: int, *, bag_mode: None = None, sparse: bool = False) -> nn.Embedding:
        ...

    @overload
    def build(self, vocab_size: int, *, bag_mode: str, sparse: bool = False) -> nn.EmbeddingBag:
        ...

    def build(self, vocab_size: int, *, bag_mode: str | None = None,
              sparse: bool = False) -> nn.Embedding | nn.EmbeddingBag:
        """Create ``nn.Embedding`` (or ``nn.EmbeddingBag`` when ``bag_mode`` is given)."""
        if self.matrix is not None and self.matrix.shape[0] != vocab_size:
            raise ConfigError(
                f"embedding matrix has {self.matrix.shape[0]} rows but the vocabulary has "
                f"{vocab_size} tokens"
            )
        # torch's own init (a normal draw over the whole table) is kept even where the matrix
        # or init_std overwrites it: skipping it would move every later draw (the other
        # layers' init, the shuffles) to another point of the seed's stream, and a seed would
        # no longer give the model it gave before, for ~5 ms on a 20,000-word table
        if bag_mode is None:
            layer: nn.Embedding | nn.EmbeddingBag = nn.Embedding(
                vocab_size, self.dim, padding_idx=PAD_ID, sparse=sparse
            )
        else:
            layer = nn.EmbeddingBag(
                vocab_size, self.dim, mode=bag_mode, padding_idx=PAD_ID, sparse=sparse
            )
        with torch.no_grad():
            if self.matrix is not None:
                layer.weight.copy_(torch.as_tensor(self.matrix, dtype=torch.float32))
            else:
                layer.weight.normal_(0.0, self.init_std)
            layer.weight[PAD_ID].zero_()
        if self.freeze:
            layer.weight.requires_grad_(False)
        return layer
