"""Seeding for reproducible CPU runs, scoped so that a library call leaves the process as it was.

:func:`seeded` is what training uses: inside the ``with`` block Python's, NumPy's and torch's
global generators are seeded, torch's deterministic algorithms are on and, when asked, torch
uses ``threads`` CPU threads; on leaving the block (normally or by an exception) every one of
those is restored. :func:`set_seed` is the process-wide opt-in for scripts that want it.
"""

from __future__ import annotations

import contextlib
import importlib
import random
from collections.abc import Iterator

import numpy as np
import torch


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int, threads: int | None = None) -> Iterator[None]:
    """Seed python, numpy and torch and make torch deterministic for the block; restore after.

    Restored on exit: the states of the three global random generators, torch's
    ``use_deterministic_algorithms`` flag (and its ``warn_only`` setting), its
    ``fill_uninitialized_memory`` flag (off in the block) and, when ``threads``
    is given, ``torch.get_num_threads()``. The thread count is process-wide while the block
    runs (torch has no per-thread setting).
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1; found {threads}")
    # torch.use_deterministic_algorithms imports torch._inductor (seconds, the first time). Do it
    # before the try: a Ctrl-C during that import would otherwise be masked in `finally` by a
    # second import of the half-initialised package (a traceback instead of "interrupted").
    importlib.import_module("torch._inductor.config")

    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    nan_fill = torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]
    n_threads = torch.get_num_threads()
    try:
        _seed_everything(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        # deterministic mode would also fill every new tensor with NaN (a debugging aid for
        # reads of uninitialised memory, no effect on results; its cost in a training step:
        # benchmarks/cnn_speed.py, variant before+nanfill)
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
        if threads is not None:
            torch.set_num_threads(threads)
        yield
    finally:
        if threads is not None:
            torch.set_num_threads(n_threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = nan_fill  # type: ignore[attr-defined]
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


def set_seed(seed: int, threads: int | None = None) -> None:
    """Process-wide opt-in for scripts: seed python, numpy and torch, turn torch's deterministic
    algorithms on and, when given, set torch's thread count — and leave them so.

    Library code uses :func:`seeded` instead, which restores all of this afterwards.
    """
    _seed_everything(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads:
        torch.set_num_threads(threads)
