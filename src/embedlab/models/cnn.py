"""Kim-style CNN: parallel convolutions of several widths, max-pooled over real tokens only."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator
from torch import nn
from torch.nn import functional as F

from embedlab.models.classifier import ClassifierModule, ModelParams, Signals
from embedlab.models.embedding import PAD_ID, EmbeddingSpec
from embedlab.models.masking import padding_mask
from embedlab.models.registry import register_model

_ACTIVATIONS = {"relu": F.relu, "tanh": torch.tanh, "gelu": F.gelu}


class CNNParams(ModelParams):
    """Hyperparameters of ``cnn`` (``hidden`` and ``dropout`` configure the output head)."""

    widths: list[int] = Field(
        default=[1, 2, 3], description="convolution widths (n-gram sizes), one Conv1d each"
    )
    filters: int = Field(default=50, ge=1, description="filters per width")
    padding: Literal["same", "valid"] = Field(
        default="same",
        description="'same': one window per token, centred on it (PyTorch 'same' placement); "
        "'valid': windows start at each token and must fit inside the text (a text shorter "
        "than the width still gets its one window)",
    )
    activation: Literal["relu", "tanh", "gelu"] = Field(default="relu", description="after conv")
    embedding_dropout: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="dropout on the token vectors"
    )

    @field_validator("widths")
    @classmethod
    def _widths(cls, widths: list[int]) -> list[int]:
        if not widths:
            raise ValueError("needs at least one width")
        if any(w < 1 or w > 20 for w in widths):
            raise ValueError("every width must be between 1 and 20")
        if len(set(widths)) != len(widths):
            raise ValueError("widths must be distinct")
        return widths


@register_model("cnn", version=2)
class CNNClassifier(ClassifierModule):
    """Embedding → dropout → Conv1d per width → activation → masked max over time → head.

    The convolutions are computed together: each window's token vectors are gathered into one
    row ``[K * dim]`` (shifts ordered 0, +1, -1, +2, ... so every width uses a prefix of them)
    and each width is one matmul over its prefix — the same result as ``nn.Conv1d`` per
    width, with no wasted multiply-adds on zero kernel entries. The weights are stored in ordinary
    ``nn.Conv1d`` modules (``convs[i]`` for ``widths[i]``).

    Max-pooling only sees windows anchored on real tokens, so the output does not depend on how
    much padding follows a text; an all-padding row pools to zeros. In ``forward`` the windows
    at padding positions are not even computed (the real ones are gathered first, then pooled
    with ``scatter_reduce``), which saves the most on batches of very unequal lengths.
    :meth:`forward_embedded` computes every window from the given vectors (the signals come
    from that path).

    Signals: ``conv_maps.<width>`` ``[batch, filters, time]`` after the activation (0 at
    positions that are not windows of the text) and ``pool_argmax.<width>`` ``[batch, filters]``,
    the position chosen by max-pooling; :meth:`window` maps a position to its token span.
    """

    Params = CNNParams
    params: CNNParams

    def _build(self, embedding: EmbeddingSpec) -> int:
        params = self.params
        self.widths = list(params.widths)
        self.filters = params.filters
        self.padding = params.padding
        self.embedding = embedding.build(self.vocab_size)
        dim = embedding.dim
        self.convs = nn.ModuleList(nn.Conv1d(dim, params.filters, k) for k in self.widths)
        self.activation = _ACTIVATIONS[params.activation]
        self.embedding_dropout = nn.Dropout(params.embedding_dropout)

        widest = max(self.widths)
        # shifts relative to the anchor token, ordered so that width k uses the first k of them
        if self.padding == "same":
            self._shifts = [0] + [s for j in range(1, widest) for s in (j, -j)][: widest - 1]
        else:
            self._shifts = list(range(widest))
        self.register_buffer("shifts", torch.tensor(self._shifts), persistent=False)
        self._pad_left = max(0, -min(self._shifts))
        self._pad_right = max(self._shifts)
        # kernel column of each shift, per width (Conv1d column j sees token anchor - left_k + j)
        self._columns = [[self._left(k) + s for s in self._shifts[:k]] for k in self.widths]
        return params.filters * len(self.widths)

    def _left(self, width: int) -> int:
        return (width - 1) // 2 if self.padding == "same" else 0

    def window(self, width: int, position: int) -> tuple[int, int]:
        """Token span ``[start, stop)`` of the ``width`` window at ``position`` (may overhang)."""
        start = position - self._left(width)
        return start, start + width

    def _conv_weights(self) -> list[torch.Tensor]:
        """Each width's Conv1d weight as a ``[k * dim, filters]`` matrix in shift order."""
        out = []
        for conv, columns, k in zip(self.convs, self._columns, self.widths):
            weight = conv.weight[:, :, columns] if k > 1 else conv.weight
            out.append(weight.permute(2, 1, 0).reshape(k * conv.in_channels, conv.out_channels))
        return out

    def _valid_positions(self, mask: torch.Tensor) -> torch.Tensor:
        """``[..., len(widths) * filters]`` (or broadcastable): which windows belong to the text.

        ``mask`` is ``[batch, time]``; every position anchored on a real token is a window with
        'same' padding, while 'valid' also drops windows that overhang the end of the text.
        """
        if self.padding == "same":
            return mask.unsqueeze(-1)
        lengths = mask.sum(1, keepdim=True)
        steps = torch.arange(mask.size(1), device=mask.device).unsqueeze(0)
        per_width = [(steps <= (lengths - k).clamp_min(0)) & mask for k in self.widths]
        return torch.stack(per_width, -1).repeat_interleave(self.filters, -1)

    def _windows(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """``[len(positions), K * dim]``: the token vectors of the window at each flat position.

        ``positions`` index ``ids.view(-1)``. The window's token ids are gathered first and
        embedded in one lookup, so nothing is computed for positions that are not asked for;
        block i of a row holds the token at shift ``_shifts[i]`` (``<PAD>`` beyond the text,
        whose vector is zero). Embedding dropout therefore acts on each window's copy.
        """
        time = ids.size(1)
        padded = F.pad(ids, (self._pad_left, self._pad_right), value=PAD_ID)
        anchor = (positions // time) * padded.size(1) + positions % time + self._pad_left
        window_ids = padded.view(-1)[anchor.unsqueeze(1) + self.shifts]
        return self.embedding_dropout(self.embedding(window_ids)).flatten(1)

    def _project(self, windows: torch.Tensor) -> torch.Tensor:
        """Activated convolution outputs ``[..., len(widths) * filters]`` (width-major)."""
        dim = self.embedding.embedding_dim
        parts = [windows[..., : k * dim] @ w for k, w in zip(self.widths, self._conv_weights())]
        bias = torch.cat([conv.bias for conv in self.convs])
        return self.activation(torch.cat(parts, -1) + bias)

    def _pool_packed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Max-pooled features computed only on windows anchored at real tokens.

        Padded positions are skipped entirely; the result equals the masked max over all
        positions.
        """
        positions = mask.view(-1).nonzero().squeeze(1)
        maps = self._project(self._windows(ids, positions))  # [real tokens, widths*filters]
        if self.padding == "valid":
            valid = self._valid_positions(mask).flatten(0, 1)[positions]
            maps = maps.masked_fill(~valid, float("-inf"))
        rows = (positions // ids.size(1)).unsqueeze(1).expand_as(maps)
        empty = maps.new_zeros(ids.size(0), maps.size(1))
        return empty.scatter_reduce(0, rows, maps, "amax", include_self=False)

    def _run(self, ids: torch.Tensor, signals: Signals | None) -> torch.Tensor:
        if signals is not None:
            return super()._run(ids, signals)
        return self.head(self._pool_packed(ids, padding_mask(ids)))

    def _from_vectors(
        self, vectors: torch.Tensor, ids: torch.Tensor, signals: Signals | None
    ) -> torch.Tensor:
        mask = padding_mask(ids)
        x = self.embedding_dropout(vectors) * mask.unsqueeze(-1)
        time = ids.size(1)
        padded = F.pad(x, (0, 0, self._pad_left, self._pad_right))
        windows = torch.cat(
            [padded[:, self._pad_left + s : self._pad_left + s + time] for s in self._shifts], -1
        )
        maps = self._project(windows)  # [batch, time, widths * filters]
        valid = self._valid_positions(mask)
        pooled, argmax = maps.masked_fill(~valid, float("-inf")).max(1)
        pooled = torch.where(mask.any(1, keepdim=True), pooled, 0.0)
        if signals is not None:
            clean = maps.masked_fill(~valid, 0.0)
            for i, k in enumerate(self.widths):
                part = slice(i * self.filters, (i + 1) * self.filters)
                signals[f"conv_maps.{k}"] = clean[..., part].transpose(1, 2)
                signals[f"pool_argmax.{k}"] = argmax[:, part]
            signals["pooled"] = pooled
        return self.head(pooled)
