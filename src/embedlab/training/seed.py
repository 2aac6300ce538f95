"""Seeding for reproducible CPU runs."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def set_seed(seed: int, threads: int | None = None) -> None:
    """Seed python, numpy and torch; make CPU kernels deterministic."""
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads:
        torch.set_num_threads(threads)
