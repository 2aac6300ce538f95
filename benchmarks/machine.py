"""What every benchmark prints about the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown CPU" where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def describe(torch_threads: int | None = None) -> str:
    """``CPU, N cores[, torch X (T threads)], Python Y`` for a results table's heading."""
    torch_part = ""
    if torch_threads is not None:
        import torch

        torch_part = f", torch {torch.__version__} ({torch_threads} threads)"
    return f"{cpu_name()}, {os.cpu_count()} cores{torch_part}, Python {platform.python_version()}"
