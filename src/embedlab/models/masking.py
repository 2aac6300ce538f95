"""Reductions over time that ignore padding and never produce NaN for all-padding rows."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from embedlab.models.embedding import PAD_ID


def padding_mask(ids: torch.Tensor) -> torch.Tensor:
    """``True`` where ``ids`` holds a real token (not ``PAD_ID``); same shape as ``ids``."""
    return ids != PAD_ID


def masked_max(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Max of ``x`` over ``dim`` using only positions where ``mask`` is true.

    ``mask`` broadcasts against ``x``. Slices with no true position give 0.
    """
    mask = mask.expand_as(x)
    pooled = x.masked_fill(~mask, float("-inf")).amax(dim)
    return torch.where(mask.any(dim), pooled, torch.zeros((), dtype=x.dtype, device=x.device))


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean of ``x`` over ``dim`` counting only masked-in positions (0 when there are none)."""
    weights = mask.to(x.dtype)
    total = (x * weights).sum(dim)
    count = weights.expand_as(x).sum(dim).clamp_min(1.0)
    return total / count


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim with masked-out positions exactly 0.

    Rows that are entirely masked give all zeros (instead of NaN), in the forward and the
    backward pass.
    """
    any_real = mask.any(-1, keepdim=True)
    usable = mask | ~any_real  # an all-pad row softmaxes over everything, then is zeroed
    weights = torch.softmax(scores.masked_fill(~usable, float("-inf")), dim=-1)
    return weights * mask.to(weights.dtype)


def last_real(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Pick ``x[b, lengths[b] - 1]`` from ``x [batch, time, dim]`` (zeros where length is 0)."""
    index = (lengths - 1).clamp_min(0).view(-1, 1, 1).expand(-1, 1, x.size(-1))
    picked = x.gather(1, index).squeeze(1)
    return picked * (lengths > 0).to(x.dtype).unsqueeze(-1)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row of ``x [batch, time, ...]`` within its length; padding stays at the end.

    Applying it twice gives ``x`` back.
    """
    steps = torch.arange(x.size(1), device=x.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


def packed_bag(table: nn.EmbeddingBag, ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Per-row ``table.mode`` reduction (sum, mean, max) of ``table.weight[ids]`` where ``keep``.

    ``ids`` and ``keep`` are ``[batch, ...]``; rows with nothing kept give zeros. The kept ids are
    packed into one flat list with offsets because ``embedding_bag`` with a ``padding_idx`` leaves
    PyTorch's fast CPU path.
    """
    batch = ids.size(0)
    keep = keep.reshape(batch, -1)
    flat = ids.reshape(batch, -1)[keep]
    offsets = torch.zeros(batch, dtype=torch.long, device=ids.device)
    offsets[1:] = keep.sum(1).cumsum(0)[:-1]
    return F.embedding_bag(flat, table.weight, offsets, mode=table.mode, sparse=table.sparse)
