"""Reductions over time that ignore padding and never produce NaN for all-padding rows."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

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


def offsets_of(lengths: torch.Tensor) -> torch.Tensor:
    """``embedding_bag`` offsets of rows packed end to end with these ``lengths``."""
    offsets = torch.zeros_like(lengths)
    offsets[1:] = lengths.cumsum(0)[:-1]
    return offsets


@dataclass
class Bag:
    """One table's features of some rows, packed end to end without padding: ``flat`` (row ids
    of the table), each row's count of them (``lengths``), optionally a weight per feature
    (``shares``), and the rows' offsets into ``flat`` when known (``starts``)."""

    flat: torch.Tensor
    lengths: torch.Tensor
    shares: torch.Tensor | None = None
    starts: torch.Tensor | None = None
    owners: torch.Tensor | None = None  # each feature's row, when known

    def offsets(self) -> torch.Tensor:
        return offsets_of(self.lengths) if self.starts is None else self.starts

    def owner(self) -> torch.Tensor:
        """Each feature's row (int32), e.g. to spread a per-row update over its features."""
        if self.owners is not None:
            return self.owners
        rows = torch.arange(len(self.lengths), device=self.lengths.device, dtype=torch.int32)
        return rows.repeat_interleave(self.lengths, output_size=len(self.flat))

    def rows(self, begin: int, end: int, first: int, last: int, owners: torch.Tensor) -> Bag:
        """Rows ``begin:end``, whose features are ``flat[first:last]`` (row ids as int64);
        ``owners``: :meth:`owner` of all the rows."""
        assert self.starts is not None
        return Bag(self.flat[first:last].long(), self.lengths[begin:end],
                   None if self.shares is None else self.shares[first:last],
                   self.starts[begin:end] - first, owners[first:last] - begin)


@dataclass
class Bags:
    """Packed features of some rows: one :class:`Bag` per pooled table, and the weighted bag of
    a linear (wide) term when the model has one."""

    deep: list[Bag]
    wide: Bag | None = None

    def compact(self) -> Bags:
        """The same bags with int32 row ids (a wide bag on the first deep bag's features keeps
        sharing its tensor)."""
        deep = [Bag(b.flat.to(torch.int32), b.lengths, b.shares, b.starts, b.owners)
                for b in self.deep]
        wide = self.wide
        if wide is not None:
            flat = deep[0].flat if wide.flat is self.deep[0].flat else wide.flat.to(torch.int32)
            wide = Bag(flat, wide.lengths, wide.shares, wide.starts, wide.owners)
        return Bags(deep, wide)

    def batches(self, sizes: list[int]) -> Iterator[Bags]:
        """Consecutive batches of ``sizes`` rows (slices; row ids widened to int64): the rows
        were gathered in the epoch's order once, so a step only slices."""
        bounds = [0]
        for size in sizes:
            bounds.append(bounds[-1] + size)
        shared = self.wide is not None and self.wide.flat is self.deep[0].flat  # words only
        ends: list[list[int]] = []
        owners: list[torch.Tensor] = []
        for bag in [*self.deep, *([self.wide] if self.wide is not None else [])]:
            bag.starts = bag.offsets()
            ends.append(torch.cat([bag.starts, bag.starts.new_tensor([len(bag.flat)])]).tolist())
            owners.append(owners[0] if shared and bag is self.wide else bag.owner())
        for begin, end in itertools.pairwise(bounds):
            deep = [bag.rows(begin, end, at[begin], at[end], own)
                    for bag, at, own in zip(self.deep, ends, owners, strict=False)]
            wide = None
            if self.wide is not None and self.wide.shares is not None:
                first, last = ends[-1][begin], ends[-1][end]
                wide = (Bag(deep[0].flat, deep[0].lengths, self.wide.shares[first:last],
                            deep[0].starts, deep[0].owners) if shared
                        else self.wide.rows(begin, end, first, last, owners[-1]))
            yield Bags(deep, wide)


@dataclass
class PackedFeatures:
    """Every row's :class:`Bags`, packed once for a whole data set (row ids as int32: half the
    memory); :meth:`take` gathers rows, e.g. an epoch's in its shuffled order.

    When the wide bag's features are the first deep bag's (a wide term on the words only: the
    bags share the tensor), only its shares are kept, and positions are found once for both."""

    deep: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # (flat, starts, lengths)
    wide: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None
    wide_on_first: bool = False

    @classmethod
    def concat(cls, parts: list[Bags]) -> PackedFeatures:
        """Join the batches' bags (in row order) into one packing."""

        def join(bags: list[Bag]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            flat = torch.cat([b.flat for b in bags]).to(torch.int32)
            lengths = torch.cat([b.lengths for b in bags])
            return flat, offsets_of(lengths), lengths

        if not parts:
            raise ValueError("no rows to pack")
        deep = [join([p.deep[k] for p in parts]) for k in range(len(parts[0].deep))]
        wide = None
        if parts[0].wide is not None:
            bags = [p.wide for p in parts if p.wide is not None]
            shares = torch.cat([b.shares for b in bags if b.shares is not None])
            if all(p.wide is not None and p.wide.flat is p.deep[0].flat for p in parts):
                return cls(deep, (deep[0][0], deep[0][1], deep[0][2], shares), wide_on_first=True)
            wide = (*join(bags), shares)
        return cls(deep, wide)

    @staticmethod
    def _positions(starts: torch.Tensor, lengths: torch.Tensor, index: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The packed positions of rows ``index``, their counts and their offsets."""
        counts = lengths.index_select(0, index)
        ends = counts.cumsum(0)
        total = int(ends[-1]) if len(ends) else 0
        offsets = ends - counts
        positions = torch.arange(total, device=counts.device) + (
            starts.index_select(0, index) - offsets).repeat_interleave(counts, output_size=total)
        return positions, counts, offsets

    def take(self, index: torch.Tensor, *, widen: bool = True) -> Bags:
        """Rows ``index`` (in that order, repeats allowed) as :class:`Bags`; ``widen=False``
        keeps the row ids int32 (:meth:`Bags.batches` widens each batch's)."""
        deep, first = [], None
        for flat, starts, lengths in self.deep:
            positions, counts, offsets = self._positions(starts, lengths, index)
            rows = flat.index_select(0, positions)
            deep.append(Bag(rows.long() if widen else rows, counts, None, offsets))
            first = positions if first is None else first
        wide = None
        if self.wide is not None:
            flat, starts, lengths, shares = self.wide
            if self.wide_on_first and first is not None:
                wide = Bag(deep[0].flat, deep[0].lengths, shares.index_select(0, first),
                           deep[0].starts)
            else:
                positions, counts, offsets = self._positions(starts, lengths, index)
                rows = flat.index_select(0, positions)
                wide = Bag(rows.long() if widen else rows, counts,
                           shares.index_select(0, positions), offsets)
        return Bags(deep, wide)
