"""Kim-style CNN: parallel convolutions of several widths, max-pooled over real tokens only."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal, cast

import torch
from pydantic import Field, field_validator
from torch import nn
from torch.nn import functional as F

from embedlab.models.classifier import ClassifierModule, ModelParams, Signals
from embedlab.models.embedding import EmbeddingSpec
from embedlab.models.masking import padding_mask
from embedlab.models.registry import register_model

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu, "tanh": torch.tanh, "gelu": F.gelu}
#: activations for which max-pooling commutes with the activation (non-decreasing)
_MONOTONE = ("relu", "tanh")


class _ShiftMaxPool(torch.autograd.Function):
    """Window sums from projected token vectors, max-pooled over each text's windows.

    ``vectors @ kernel`` (``[words, dim] @ [dim, C * filters]``) is the projected table:
    column block ``c`` holds a word's vector times one kernel column. ``rows``
    (``[batch, padded]``) says which of its rows sits at each position of a layout with ``lead``
    positions before every text and some after it; ``rows == words`` marks a position with no
    token (padding), which adds nothing. The sum at position ``t`` of a width is the sum of its
    blocks at ``t + shift``; positions that are not windows (``windows[width]`` false) are
    skipped by the max. Returns ``[batch, widths * filters]`` (-inf for a text with no window:
    the caller zeroes those). The backward pass sends each pooled gradient to the one row per
    shift the max chose, instead of through the whole ``[batch, time, ...]`` map. ``anchored``: the windows are exactly the positions of real
    tokens ('same' padding), which the padding row's -inf already enforces.
    """

    @staticmethod
    def forward(ctx, vectors: torch.Tensor, kernel: torch.Tensor, rows: torch.Tensor,
                windows: torch.Tensor, anchored: bool, shift_blocks: list[list[int]], lead: int,
                filters: int) -> torch.Tensor:
        time = windows.size(2)
        count, columns = vectors.size(0), kernel.size(1)
        table = vectors.new_empty(count + 1, columns)
        torch.mm(vectors, kernel, out=table[:count])  # projected, with room for the padding row
        # the padding row adds 0, except to the shift-0 block: a window anchored on padding
        # sums to -inf and is never the max (shift 0 is the anchor: every width's first shift)
        table[count] = 0.0
        first = 0
        for shifts in shift_blocks:
            table[count, first * filters : (first + 1) * filters] = float("-inf")
            first += len(shifts)
        at = {shift: rows[:, lead + shift : lead + shift + time].reshape(-1)
              for shift in {shift for shifts in shift_blocks for shift in shifts}}
        track = any(ctx.needs_input_grad[:2])  # the argmax is only needed for the backward pass
        pooled, argmax = [], []
        block = 0
        for i, shifts in enumerate(shift_blocks):
            sums = None
            for shift in shifts:
                part = table[:, block * filters : (block + 1) * filters].index_select(0, at[shift])
                sums = part if sums is None else sums.add_(part)
                block += 1
            assert sums is not None
            sums = sums.view(rows.size(0), time, filters)
            if not anchored:  # windows that are not all of the anchored positions
                sums.masked_fill_(~windows[i].unsqueeze(-1), float("-inf"))
            # max over time as a pool over the channels-last view: with return_indices torch
            # takes its vectorised channels-last kernel, many times faster here than
            # Tensor.max(1) (without them, a copy and a slower kernel)
            values, positions = F.max_pool1d(sums.transpose(1, 2), time, return_indices=True)
            if track:
                argmax.append(positions.squeeze(2))
            pooled.append(values.squeeze(2))  # -inf for a text with no window
        if not track:
            return torch.cat(pooled, 1)
        ctx.save_for_backward(vectors, kernel, torch.cat(argmax, 1), rows)
        ctx.layout = (shift_blocks, lead, filters, (count, columns))
        return torch.cat(pooled, 1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        vectors, kernel, argmax, rows = ctx.saved_tensors
        shift_blocks, lead, filters, shape = ctx.layout
        flat = grad.new_zeros((shape[0] + 1) * shape[1])  # + the padding row, dropped below
        batch = torch.arange(argmax.size(0), device=grad.device).unsqueeze(1)
        column = torch.arange(filters, device=grad.device)
        index, values = [], []
        block = 0
        for i, shifts in enumerate(shift_blocks):
            part = slice(i * filters, (i + 1) * filters)
            position, g = argmax[:, part], grad[:, part]
            for shift in shifts:
                row = rows[batch, lead + shift + position]
                index.append((row * shape[1] + block * filters + column).view(-1))
                values.append(g.reshape(-1))
                block += 1
        flat.index_add_(0, torch.cat(index), torch.cat(values))
        grad_projected = flat[: shape[0] * shape[1]].view(shape)
        grad_vectors = grad_projected @ kernel.t() if ctx.needs_input_grad[0] else None
        grad_kernel = vectors.t() @ grad_projected if ctx.needs_input_grad[1] else None
        return grad_vectors, grad_kernel, None, None, None, None, None, None


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
    sparse: bool = Field(
        default=False, exclude=True,
        description="sparse gradients for the embedding table (sparse_parameters()): the trainer "
        "steps it with SparseAdam, a lazy Adam that moves only the rows (and moments) of the "
        "batch's words, or sparse SGD, and leaves it out of gradient clipping; faster steps, "
        "different training (benchmarks/cnn_speed.py). How the model trains, not what it is: "
        "not saved with the architecture (a run's config.yaml records it when given)",
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

    ``forward`` never computes a window at a padding position: each distinct word of the batch
    is multiplied once by every kernel column of every width (one matmul), the shifted columns
    are added into each width's window sums, and max-pooling runs on those sums before the
    bias and the activation (the same numbers, since relu and tanh are non-decreasing; with
    ``gelu`` ``forward`` takes the :meth:`forward_embedded` route). Its backward pass sends
    each pooled gradient only to the tokens of the window the max chose. The weights are
    stored in ordinary ``nn.Conv1d`` modules (``convs[i]`` for ``widths[i]``).

    Max-pooling only sees windows anchored on real tokens, so the output does not depend on how
    much padding follows a text; an all-padding row pools to zeros. :meth:`forward_embedded`
    computes every window from the given vectors (the signals come from that path) and equals
    ``forward`` to float rounding.

    Signals: ``conv_maps.<width>`` ``[batch, filters, time]`` after the activation (0 at
    positions that are not windows of the text) and ``pool_argmax.<width>`` ``[batch, filters]``,
    the position chosen by max-pooling; :meth:`window` maps a position to its token span.
    """

    Params = CNNParams
    params: CNNParams
    embedding: nn.Embedding

    #: benchmarks/explain.py: ig has the highest AOPC on TREC, SST-2 and AG News (lime scored
    #: higher still but is a sampled surrogate at 5-10x the cost: an explicit choice)
    auto_explanation = ("ig",)

    def explanation_methods(self) -> list[str]:
        return [*super().explanation_methods(), "ngrams"]

    def export_graph(self) -> nn.Module:
        return ConvGraph(self)

    def _build(self, embedding: EmbeddingSpec) -> int:
        params = self.params
        self.widths = list(params.widths)
        self.filters = params.filters
        self.padding = params.padding
        self.embedding = embedding.build(self.vocab_size, sparse=params.sparse)
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
        self._pad_left = max(0, -min(self._shifts))
        self._pad_right = max(self._shifts)
        # kernel column of each shift, per width (Conv1d column j sees token anchor - left_k + j)
        self._columns = [[self._left(k) + s for s in self._shifts[:k]] for k in self.widths]
        return params.filters * len(self.widths)

    def sparse_parameters(self) -> list[nn.Parameter]:
        return self._trained_weights(self.embedding) if self.params.sparse else []

    def _left(self, width: int) -> int:
        return (width - 1) // 2 if self.padding == "same" else 0

    def window(self, width: int, position: int) -> tuple[int, int]:
        """Token span ``[start, stop)`` of the ``width`` window at ``position`` (may overhang)."""
        start = position - self._left(width)
        return start, start + width

    def _conv_layers(self) -> list[nn.Conv1d]:
        """``convs``, one ``nn.Conv1d`` per width, typed as such."""
        # nn.ModuleList yields nn.Module; _build fills convs with nn.Conv1d only
        return [cast(nn.Conv1d, conv) for conv in self.convs]

    def _conv_weights(self) -> list[torch.Tensor]:
        """Each width's Conv1d weight as a ``[k * dim, filters]`` matrix in shift order."""
        out = []
        for conv, columns, k in zip(self._conv_layers(), self._columns, self.widths):
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

    def _project(self, windows: torch.Tensor) -> torch.Tensor:
        """Activated convolution outputs ``[..., len(widths) * filters]`` (width-major)."""
        dim = self.embedding.embedding_dim
        parts = [windows[..., : k * dim] @ w for k, w in zip(self.widths, self._conv_weights())]
        return self.activation(torch.cat(parts, -1) + self._bias())

    def _bias(self) -> torch.Tensor:
        """``[len(widths) * filters]``: every width's Conv1d bias, width-major."""
        biases = []
        for conv in self._conv_layers():
            if conv.bias is None:  # _build makes each Conv1d with one
                raise TypeError(f"cnn convolution of width {conv.kernel_size[0]} has no bias")
            biases.append(conv.bias)
        return torch.cat(biases)

    def _kernel_columns(self) -> torch.Tensor:
        """``[dim, C * filters]``: every kernel column of every width, in
        :meth:`_shift_blocks` order (width-major, then shift order)."""
        return torch.cat(
            [conv.weight[:, :, col].t() for conv, cols in zip(self._conv_layers(), self._columns)
             for col in cols], 1)

    def _shift_blocks(self) -> list[list[int]]:
        """Per width, the shift of each of its column blocks of :meth:`_kernel_columns`."""
        return [self._shifts[:k] for k in self.widths]

    def _window_masks(self, mask: torch.Tensor) -> torch.Tensor:
        """``[len(widths), batch, time]``: which positions are windows of the text, per width."""
        if self.padding == "same":
            return mask.unsqueeze(0).expand(len(self.widths), -1, -1)
        lengths = mask.sum(1, keepdim=True)
        steps = torch.arange(mask.size(1), device=mask.device).unsqueeze(0)
        return torch.stack([(steps <= (lengths - k).clamp_min(0)) & mask for k in self.widths])

    def _pool_tokens(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Max-pooled activated features, from each real token projected once.

        Every distinct word of the batch goes through every kernel column of every width in
        one matmul ``[words, dim] @ [dim, C * filters]`` (padding is never embedded nor
        multiplied; with embedding dropout in training, every occurrence is projected on its
        own); :class:`_ShiftMaxPool` adds the shifted columns into each width's window
        sums and max-pools them over the windows of the text; the bias and the (non-decreasing)
        activation come after the max, on ``[batch, filters]`` only —
        ``max_t f(x_t + b) == f(max_t x_t + b)`` for such ``f``. The result equals the masked
        max of the activated Conv1d maps (to float rounding).
        """
        batch, time = ids.shape
        if time == 0:  # nothing but empty texts: they pool to zeros
            return self._bias().new_zeros(batch, len(self.widths) * self.filters)
        lead = self._pad_left
        padded = time + lead + self._pad_right
        flat = mask.reshape(-1).nonzero().squeeze(1)
        token_ids = ids.reshape(-1).index_select(0, flat)
        if self.training and self.embedding_dropout.p > 0:  # each occurrence its own dropout
            words, where = token_ids, torch.arange(flat.numel(), device=ids.device)
        else:  # each distinct word of the batch embedded and projected once
            words, where = torch.unique(token_ids, return_inverse=True)
        vectors = self.embedding_dropout(self.embedding(words))
        rows = torch.full((batch * padded,), words.numel(), dtype=torch.long, device=ids.device)
        rows[(flat // time) * padded + flat % time + lead] = where
        pooled = _ShiftMaxPool.apply(vectors, self._kernel_columns(), rows.view(batch, padded),
                                     self._window_masks(mask), self.padding == "same",
                                     self._shift_blocks(), lead, self.filters)
        return torch.where(mask.any(1, keepdim=True), self.activation(pooled + self._bias()), 0.0)

    def _run(self, ids: torch.Tensor, signals: Signals | None) -> torch.Tensor:
        if signals is not None or self.params.activation not in _MONOTONE:
            return super()._run(ids, signals)
        return self.head(self._pool_tokens(ids, padding_mask(ids)))

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


class ConvGraph(nn.Module):
    """The cnn for ONNX export: ``nn.Conv1d`` per width over the masked token vectors. The same
    numbers as its per-token path, which builds shifted copies of the vectors with slices and
    concats; onnxruntime runs convolutions as fused kernels instead. The export checks parity
    with PyTorch as for every graph."""

    #: recorded as ``graph`` in ``export.json``
    name: ClassVar[str] = "conv1d"

    def __init__(self, model: CNNClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        m = self.model
        mask = ids != 0
        x = (m.embedding(ids) * mask.unsqueeze(-1)).transpose(1, 2)  # [batch, dim, time]
        maps = []
        for conv, width in zip(m.convs, m.widths):
            left = -m.window(width, 0)[0]  # tokens a window reaches before its position
            maps.append(m.activation(conv(F.pad(x, (left, width - 1 - left)))))
        features = torch.cat(maps, 1)  # [batch, widths * filters, time]
        valid = m._valid_positions(mask).transpose(1, 2)  # [batch, 1 or widths * filters, time]
        pooled = features.masked_fill(~valid, float("-inf")).amax(2)
        return m.head(torch.where(mask.any(1, keepdim=True), pooled, 0.0))
