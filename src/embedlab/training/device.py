"""Where training runs: ``training.device`` resolved to a torch device, with one-line errors."""

from __future__ import annotations

import re

import torch

from embedlab.config import DEVICE_PATTERN
from embedlab.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: the current CUDA device when one is available, else the CPU; ``"cpu"``;
    ``"cuda"`` / ``"cuda:N"``: that GPU, or a :class:`ConfigError` saying why it cannot be used.

    Prediction code can call it too (``resolve_device("auto")``).
    """
    if not re.match(DEVICE_PATTERN, name):
        raise ConfigError(f"device '{name}': expected auto, cpu, cuda or cuda:N")
    if name == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = ("this torch build has no CUDA support" if torch.version.cuda is None
                   else "no CUDA device is visible")
            raise ConfigError(f"device '{name}': CUDA is not available ({why}); "
                              "use device 'cpu' or 'auto'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device '{name}': only {torch.cuda.device_count()} CUDA "
                              "device(s) are visible")
    return device
