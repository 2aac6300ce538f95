"""Training's data loader: each epoch's shuffled order, cut into this rank's batches.

Under distributed data parallel every rank trains on its shard of each shuffled epoch. Shards
are made equal as ``DistributedSampler`` makes them (the epoch order is padded by repeating its
start up to a multiple of the world size), so every rank runs the same number of batches and no
collective waits forever. Prediction's batches (input order, or grouped by length) are cut by
:meth:`embedlab.inference.forward.EncodedTexts.batches`.
"""

from __future__ import annotations

import math

import torch

from embedlab.inference.forward import EncodedTexts


def shard_batches(n: int, batch_size: int, generator: torch.Generator, rank: int = 0,
                  world_size: int = 1) -> list[torch.Tensor]:
    """This rank's batches of one shuffled epoch over ``n`` rows.

    With ``world_size > 1`` the permutation is padded by repeating its first rows up to
    ``ceil(n / world_size) * world_size`` and rank ``r`` takes every ``world_size``-th row from
    ``r``: all ranks get ``ceil(n / world_size)`` rows, hence the same number of batches.
    Every rank must pass a generator in the same state (the same seed).
    """
    order = torch.randperm(n, generator=generator)
    if world_size > 1:
        total = math.ceil(n / world_size) * world_size
        order = order.repeat(math.ceil(total / max(n, 1)))[:total][rank::world_size]
    return list(order.split(batch_size))


def labels_of(data: EncodedTexts) -> torch.Tensor:
    """The label indices of training or validation rows; rows encoded without labels cannot be
    trained or scored on (a ``ValueError``)."""
    if data.y is None:
        raise ValueError("the encoded texts have no labels: training and validation need them "
                         "(EncodedTexts.build with y)")
    return data.y
