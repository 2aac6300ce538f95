"""Bag of embeddings: token vectors pooled (mean, sum, max or flattened) and fed to an MLP."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import nn
from torch.nn import functional as F

from embedlab.models.classifier import ClassifierModule, ModelParams, Signals
from embedlab.models.embedding import PAD_ID, EmbeddingSpec
from embedlab.models.masking import packed_bag, padding_mask
from embedlab.models.registry import register_model


class BagParams(ModelParams):
    """Hyperparameters of ``bag`` (defaults: the Flax guide's best setup, mean → Dense(100))."""

    pooling: Literal["mean", "sum", "max", "flatten"] = Field(
        default="mean",
        description="how token vectors become one vector ('flatten': concatenate max_length)",
    )
    max_length: int | None = Field(
        default=None,
        ge=1,
        description="tokens kept by 'flatten' (required for it, unused otherwise)",
    )
    hidden: list[int] = Field(
        default=[100], description="sizes of the Dense+ReLU layers ([]: none)"
    )
    dropout: float = Field(
        default=0.1, ge=0.0, lt=1.0, description="dropout after each hidden layer"
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
        if any(size < 1 for size in self.hidden):
            raise ValueError(f"hidden sizes must be positive, found {self.hidden}")
        return self


@register_model("bag", "embedlab.bag.v1")
class BagOfEmbeddings(ClassifierModule):
    """Embedding → pooling → [Linear → ReLU → dropout] × len(hidden) → Linear.

    Mean, sum and max run in one ``nn.EmbeddingBag`` call that skips padding (mean divides by
    the real length; an all-padding row pools to zeros). ``flatten`` pads/truncates every row to
    ``max_length`` (``fixed_length``) and concatenates the token vectors.

    Signals: ``token_vectors`` ``[batch, time, dim]`` (0 at padding) and ``pooled``.
    """

    Params = BagParams

    def __init__(
        self, vocab_size: int, num_classes: int, embedding: EmbeddingSpec, params: BagParams
    ) -> None:
        super().__init__(vocab_size, num_classes)
        self.params = params
        self.pooling = params.pooling
        if params.pooling == "flatten":
            self.fixed_length = params.max_length
            self.embedding = embedding.build(vocab_size)
            width = embedding.dim * params.max_length
        else:
            self.embedding = embedding.build(
                vocab_size, bag_mode=params.pooling, sparse=params.sparse
            )
            width = embedding.dim
        layers: list[nn.Module] = []
        for size in params.hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(params.dropout)]
            width = size
        self.mlp = nn.Sequential(*layers)
        self.output = nn.Linear(width, num_classes)

    def sparse_parameters(self) -> list[nn.Parameter]:
        weight = self.embedding.weight
        return [weight] if self.params.sparse and weight.requires_grad else []

    def _run(self, ids: torch.Tensor, signals: Signals | None) -> torch.Tensor:
        if self.fixed_length is not None:
            ids = _fit_length(ids, self.fixed_length)
            pooled = self.embedding(ids).flatten(1)
        else:
            pooled = packed_bag(self.embedding, ids, padding_mask(ids))
        if signals is not None:
            mask = padding_mask(ids).unsqueeze(-1)
            signals["token_vectors"] = F.embedding(ids, self.embedding.weight) * mask
            signals["pooled"] = pooled
        return self.output(self.mlp(pooled))


def _fit_length(ids: torch.Tensor, length: int) -> torch.Tensor:
    """Right-pad with ``PAD_ID`` or truncate ``ids`` to exactly ``length`` columns."""
    if ids.size(1) >= length:
        return ids[:, :length]
    return F.pad(ids, (0, length - ids.size(1)), value=PAD_ID)
