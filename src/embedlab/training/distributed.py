"""Training one run on several processes with ``torchrun`` (DDP, gloo on CPU, nccl on CUDA).

``torchrun`` starts the processes and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; :func:`process_group` joins the group they describe, and
:func:`embedlab.training.run.train_run` does that by itself, so the same command that trains
on one process trains on several::

    torchrun --nproc_per_node 2 -m embedlab train --dataset trec --out runs/trec-ddp

Every rank loads the data and builds the same vocabulary; each trains on its equal shard of
every epoch (:func:`embedlab.training.loader.shard_batches`), gradients are averaged by DDP,
validation is all-reduced, and only rank 0 writes the run directory and logs.
``tests/test_distributed.py`` runs two real processes this way.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta

import torch
import torch.distributed as dist


def launched_world_size() -> int:
    """The world size a launcher such as ``torchrun`` asked for (1 when not launched)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


@contextlib.contextmanager
def process_group(device: torch.device, timeout_s: float = 600.0) -> Iterator[bool]:
    """Join the process group described by the environment for the block, when ``WORLD_SIZE``
    says there is more than one process and no group is initialised yet; leave it afterwards.

    Yields whether a multi-process group is active. Backend: nccl for CUDA, gloo otherwise.
    """
    if not dist.is_available() or dist.is_initialized() or launched_world_size() < 2:
        yield dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    try:
        yield True
    finally:
        dist.destroy_process_group()


def is_main_process() -> bool:
    """True on rank 0 of the initialised group, and without one."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
