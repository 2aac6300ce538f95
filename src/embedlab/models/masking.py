"""Reductions over time that ignore padding and never produce NaN for all-padding rows."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace

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
    return F.embedding_bag(flat, table.weight, offsets_of(keep.sum(1)), mode=table.mode,
                           sparse=table.sparse)


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

    def take(self, index: torch.Tensor) -> tuple[Bag, torch.Tensor]:
        """Rows ``index`` (in that order, repeats allowed), and the positions in ``flat`` their
        features were taken from."""
        counts = self.lengths.index_select(0, index)
        ends = counts.cumsum(0)
        total = int(ends[-1]) if len(ends) else 0
        starts = ends - counts
        positions = torch.arange(total, device=counts.device) + (
            self.offsets().index_select(0, index) - starts).repeat_interleave(
                counts, output_size=total)
        shares = None if self.shares is None else self.shares.index_select(0, positions)
        return Bag(self.flat.index_select(0, positions), counts, shares, starts), positions

    def rows(self, begin: int, end: int, first: int, last: int, owners: torch.Tensor) -> Bag:
        """Rows ``begin:end``, whose features are ``flat[first:last]`` (row ids as int64);
        ``owners``: :meth:`owner` of all the rows."""
        return Bag(self.flat[first:last].long(), self.lengths[begin:end],
                   None if self.shares is None else self.shares[first:last],
                   self.offsets()[begin:end] - first, owners[first:last] - begin)


@dataclass
class Bags:
    """Packed features of some rows: one :class:`Bag` per pooled table, and the weighted bag of
    a linear (wide) term when the model has one. A wide bag on the first deep bag's features (a
    wide term on the words only) shares its ``flat`` tensor: only its shares are its own.

    A model's SGD step packs every training row once (:meth:`join` of its batches'
    :meth:`compact` bags), :meth:`take` gathers rows (an epoch's, in its shuffled order) and
    :meth:`batches` cuts them into consecutive batches."""

    deep: list[Bag]
    wide: Bag | None = None

    @property
    def shared(self) -> bool:
        """Whether the wide bag's features are the first deep bag's (the same tensor)."""
        return self.wide is not None and self.wide.flat is self.deep[0].flat

    def compact(self) -> Bags:
        """The same bags with int32 row ids (half the memory)."""
        deep = [replace(b, flat=b.flat.to(torch.int32)) for b in self.deep]
        wide = self.wide
        if wide is not None:
            wide = replace(wide, flat=deep[0].flat if self.shared else wide.flat.to(torch.int32))
        return Bags(deep, wide)

    @classmethod
    def join(cls, parts: list[Bags]) -> Bags:
        """Consecutive batches' bags (in row order) as one."""

        def cat(bags: list[Bag]) -> Bag:
            lengths = torch.cat([b.lengths for b in bags])
            shares = [b.shares for b in bags if b.shares is not None]
            return Bag(torch.cat([b.flat for b in bags]), lengths,
                       torch.cat(shares) if shares else None, offsets_of(lengths))

        if not parts:
            raise ValueError("no rows to pack")
        deep = [cat([p.deep[k] for p in parts]) for k in range(len(parts[0].deep))]
        wides = [p.wide for p in parts if p.wide is not None]
        if not wides:
            return Bags(deep)
        if all(p.shared for p in parts):
            return Bags(deep, replace(deep[0], shares=torch.cat(
                [w.shares for w in wides if w.shares is not None])))
        return Bags(deep, cat(wides))

    def take(self, index: torch.Tensor) -> Bags:
        """Rows ``index`` (in that order, repeats allowed); the row ids keep their dtype."""
        taken = [b.take(index) for b in self.deep]
        deep = [b for b, _ in taken]
        wide = self.wide
        if wide is None:
            return Bags(deep)
        if self.shared:
            assert wide.shares is not None
            return Bags(deep, replace(deep[0], shares=wide.shares.index_select(0, taken[0][1])))
        return Bags(deep, wide.take(index)[0])

    def batches(self, sizes: list[int]) -> Iterator[Bags]:
        """Consecutive batches of ``sizes`` rows (slices; row ids widened to int64): rows
        gathered once (:meth:`take`) are cut without gathering again."""
        bounds = list(itertools.accumulate(sizes, initial=0))
        shared = self.shared
        bags = [*self.deep, *([self.wide] if self.wide is not None and not shared else [])]
        bags = [replace(b, starts=b.offsets()) for b in bags]
        ends = [torch.cat([b.offsets(), b.offsets().new_tensor([len(b.flat)])]).tolist()
                for b in bags]
        owners = [b.owner() for b in bags]
        for begin, end in itertools.pairwise(bounds):
            cut = [b.rows(begin, end, at[begin], at[end], own)
                   for b, at, own in zip(bags, ends, owners, strict=True)]
            deep = cut[: len(self.deep)]
            if self.wide is None:
                yield Bags(deep)
            elif shared:
                assert self.wide.shares is not None
                yield Bags(deep, replace(deep[0], shares=self.wide.shares[ends[0][begin]:ends[0][end]]))
            else:
                yield Bags(deep, cut[-1])
