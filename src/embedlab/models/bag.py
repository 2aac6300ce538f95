"""Bag of embeddings: token vectors pooled (mean, sum, max or flattened) and fed to an MLP."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import nn
from torch.nn import functional as F

from embedlab.errors import ConfigError
from embedlab.models.classifier import ClassifierModule, ModelParams, Signals
from embedlab.models.embedding import PAD_ID, EmbeddingSpec
from embedlab.models.masking import masked_max, masked_mean, packed_bag, padding_mask
from embedlab.models.registry import register_model


class BagParams(ModelParams):
    """Hyperparameters of ``bag`` (defaults: the Flax guide's setup, mean → Dense(100));
    ``hidden`` and ``dropout`` configure the output head."""

    pooling: Literal["mean", "sum", "max", "flatten"] = Field(
        default="mean",
        description="how token vectors become one vector ('flatten': concatenate max_length)",
    )
    max_length: int | None = Field(
        default=None,
        ge=1,
        description="tokens kept by 'flatten' (required for it, unused otherwise)",
    )
    sparse: bool = Field(
        default=False,
        description="sparse embedding gradients (mean/sum only; train with SparseAdam)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> BagParams:
        if self.pooling == "flatten" and self.max_length is None:
            raise ValueError("pooling 'flatten' needs max_length (tokens per text), found none")
        if self.pooling in ("max", "flatten") and self.sparse:
            raise ValueError(
                f"sparse gradients need pooling 'mean' or 'sum', found '{self.pooling}'"
            )
        return self


@register_model("bag", version=2)
class BagOfEmbeddings(ClassifierModule):
    """Embedding → pooling → head (``[Linear → ReLU → Dropout] × len(hidden) → Linear``).

    In ``forward``, mean, sum and max run in one ``nn.EmbeddingBag`` call over the real tokens
    (mean divides by the real length; an all-padding row pools to zeros); ``forward_embedded``
    pools the given vectors with the same masks. ``flatten`` pads/truncates every row to
    ``max_length`` (``fixed_length``) and concatenates the token vectors; :meth:`embed` still
    returns one vector per given token, and ``forward_embedded`` ignores tokens past
    ``max_length``.

    Signals: ``token_vectors`` ``[batch, time, dim]`` (0 at padding) and ``pooled``.
    """

    Params = BagParams
    params: BagParams
    #: ``nn.EmbeddingBag`` in the pooling's mode, or ``nn.Embedding`` for flatten
    embedding: nn.Embedding | nn.EmbeddingBag

    #: benchmarks/explain.py: occlusion ties ig at a tenth of the time
    auto_explanation = ("occlusion", "ig")

    def is_linear(self) -> bool:
        return self.params.pooling in ("mean", "sum") and not self.params.hidden

    def order_free(self) -> bool:
        return self.params.pooling != "flatten"

    def _build(self, embedding: EmbeddingSpec) -> int:
        params = self.params
        self.pooling = params.pooling
        if params.pooling == "flatten":
            if params.max_length is None:  # BagParams rejects it; checked again for the types
                raise ConfigError("pooling 'flatten' needs max_length (tokens per text), found none")
            self.fixed_length = params.max_length
            self.embedding = embedding.build(self.vocab_size)
            return embedding.dim * params.max_length
        self.embedding = embedding.build(
            self.vocab_size, bag_mode=params.pooling, sparse=params.sparse
        )
        return embedding.dim

    def sparse_parameters(self) -> list[nn.Parameter]:
        return self._trained_weights(self.embedding) if self.params.sparse else []

    def _run(self, ids: torch.Tensor, signals: Signals | None) -> torch.Tensor:
        if signals is not None:
            return super()._run(ids, signals)
        if self.fixed_length is not None:
            pooled = self.embedding(_fit_length(ids, self.fixed_length)).flatten(1)
        elif isinstance(self.embedding, nn.EmbeddingBag):  # _build made one for mean, sum, max
            pooled = packed_bag(self.embedding, ids, padding_mask(ids))
        else:
            raise TypeError(f"bag pooling '{self.pooling}' without max_length needs an "
                            f"nn.EmbeddingBag table, found {type(self.embedding).__name__}")
        return self.head(pooled)

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.embedding.weight)

    def _from_vectors(
        self, vectors: torch.Tensor, ids: torch.Tensor, signals: Signals | None
    ) -> torch.Tensor:
        if self.fixed_length is not None:
            length = self.fixed_length
            vectors = F.pad(vectors[:, :length], (0, 0, 0, max(length - vectors.size(1), 0)))
            ids = _fit_length(ids, length)
        mask = padding_mask(ids).unsqueeze(-1)
        vectors = vectors * mask
        if self.pooling == "flatten":
            pooled = vectors.flatten(1)
        elif self.pooling == "mean":
            pooled = masked_mean(vectors, mask, 1)
        elif self.pooling == "sum":
            pooled = vectors.sum(1)
        else:
            pooled = masked_max(vectors, mask, 1)
        if signals is not None:
            signals["token_vectors"] = vectors
            signals["pooled"] = pooled
        return self.head(pooled)


def _fit_length(ids: torch.Tensor, length: int) -> torch.Tensor:
    """Right-pad with ``PAD_ID`` or truncate ``ids`` to exactly ``length`` columns."""
    if ids.size(1) >= length:
        return ids[:, :length]
    return F.pad(ids, (0, length - ids.size(1)), value=PAD_ID)
