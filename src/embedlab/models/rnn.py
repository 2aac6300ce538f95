"""Recurrent classifier (RNN / GRU / LSTM) pooled by masked attention, last state or max."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from embedlab.models.classifier import ClassifierModule, ModelParams, Signals
from embedlab.models.embedding import EmbeddingSpec
from embedlab.models.masking import (
    last_real,
    masked_max,
    masked_softmax,
    padding_mask,
    reverse_padded,
)
from embedlab.models.registry import register_model

_CELLS: dict[str, type[nn.RNN] | type[nn.GRU] | type[nn.LSTM]] = {
    "rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RNNParams(ModelParams):
    """Hyperparameters of ``rnn`` (the attention tutorial's sizes); ``hidden`` and ``dropout``
    configure the output head."""

    cell: Literal["rnn", "gru", "lstm"] = Field(default="gru", description="recurrent cell")
    hidden_size: int = Field(default=128, ge=1, description="state size per direction")
    num_layers: int = Field(default=1, ge=1, le=8, description="stacked recurrent layers")
    bidirectional: bool = Field(default=False, description="add a right-to-left pass")
    pooling: Literal["attention", "last", "max"] = Field(
        default="attention",
        description="'attention': softmax(Linear(h→1)) over real tokens; 'last': state after the "
        "last real token (bidirectional: forward last + backward first); 'max': masked max",
    )
    embedding_dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="on token vectors")
    layer_dropout: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="between stacked recurrent layers"
    )


@register_model("rnn", version=2)
class RNNClassifier(ClassifierModule):
    """Embedding → (bi)RNN → pooling → head.

    Padding never reaches a real position: the left-to-right pass runs over the padded batch
    (trailing pads only follow the real tokens), and the right-to-left pass runs a forward cell
    over each row reversed *within its length*, so it starts at the last real token. Results
    therefore do not depend on how much padding a batch has.

    Signals: ``states`` ``[batch, time, hidden*directions]`` and, with attention pooling,
    ``attention`` ``[batch, time]`` (exactly 0 on padding, rows sum to 1; all-padding rows are 0).
    """

    Params = RNNParams

    params: RNNParams
    embedding: nn.Embedding
    #: the stacked cell when not bidirectional (else ``forward_layers`` / ``backward_layers``)
    rnn: nn.RNNBase | None
    #: the scoring layer of attention pooling (``None`` with other poolings)
    attention: nn.Linear | None

    #: benchmarks/explain.py: ig has the highest AOPC on TREC, SST-2 and AG News
    auto_explanation = ("ig",)

    def explanation_methods(self) -> list[str]:
        extra = ["attention"] if self.params.pooling == "attention" else []
        return [*super().explanation_methods(), *extra]

    def _build(self, embedding: EmbeddingSpec) -> int:
        params = self.params
        self.embedding = embedding.build(self.vocab_size)
        self.embedding_dropout = nn.Dropout(params.embedding_dropout)
        cell = _CELLS[params.cell]
        size = params.hidden_size
        self.layer_dropout = nn.Dropout(params.layer_dropout)
        if params.bidirectional:
            # one single-layer module per direction and layer; see the class docstring
            inputs = [embedding.dim] + [2 * size] * (params.num_layers - 1)
            self.forward_layers = nn.ModuleList(cell(i, size, batch_first=True) for i in inputs)
            self.backward_layers = nn.ModuleList(cell(i, size, batch_first=True) for i in inputs)
            self.rnn = None
        else:
            self.rnn = cell(
                embedding.dim,
                size,
                num_layers=params.num_layers,
                batch_first=True,
                dropout=params.layer_dropout if params.num_layers > 1 else 0.0,
            )
        out = size * (2 if params.bidirectional else 1)
        self.attention = nn.Linear(out, 1) if params.pooling == "attention" else None
        return out

    def _encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the recurrent layers; return all states and the 'last' summary vector."""
        if self.rnn is not None:
            states, _ = self.rnn(x)
            return states, last_real(states, lengths)
        layer_input = x
        for i, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers)):
            if i:
                layer_input = self.layer_dropout(layer_input)
            forward_states, _ = fwd(layer_input)
            reversed_states, _ = bwd(reverse_padded(layer_input, lengths))
            layer_input = torch.cat([forward_states, reverse_padded(reversed_states, lengths)], -1)
        # backward pass "last" = its state after reading the whole row = reversed at length-1
        last = torch.cat(
            [last_real(forward_states, lengths), last_real(reversed_states, lengths)], -1
        )
        return layer_input, last

    def _from_vectors(
        self, vectors: torch.Tensor, ids: torch.Tensor, signals: Signals | None
    ) -> torch.Tensor:
        mask = padding_mask(ids)
        lengths = mask.sum(1)
        x = self.embedding_dropout(vectors) * mask.unsqueeze(-1)
        states, last = self._encode(x, lengths)
        pooling = self.params.pooling
        if self.attention is not None:  # built for, and only for, attention pooling
            weights = masked_softmax(self.attention(states).squeeze(-1), mask)
            pooled = torch.bmm(weights.unsqueeze(1), states).squeeze(1)
            if signals is not None:
                signals["attention"] = weights
        elif pooling == "last":
            pooled = last
        else:
            pooled = masked_max(states, mask.unsqueeze(-1), 1)
        if signals is not None:
            signals["states"] = states
            signals["pooled"] = pooled
        return self.head(pooled)
