"""The contract every classifier follows: ids in, logits out, optional explanation signals."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from embedlab.errors import DataError
from embedlab.models.embedding import PAD_ID

Signals = dict[str, torch.Tensor]


class ModelParams(BaseModel):
    """Base of every model's hyperparameters: unknown keys are rejected, values are immutable.

    ``training_defaults`` holds the training settings this architecture works best with where
    they differ from the generic ones (used when the run config leaves them unset).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    training_defaults: ClassVar[dict[str, Any]] = {"lr": 1e-3, "patience": 3}


class ClassifierModule(nn.Module):
    """Base class of the classifiers.

    Input is ``ids: LongTensor [batch, time]``, right-padded with ``PAD_ID`` (0); a row may be all
    padding. ``forward`` returns raw logits ``[batch, num_classes]``; ``forward_with_signals``
    also returns the intermediate tensors the explainers use. Subclasses implement ``_run``,
    which fills ``signals`` only when it is a dict, so plain ``forward`` pays nothing for them.

    Attributes
    ----------
    fixed_length:
        Length batches must be padded/truncated to, or ``None`` when any length works.
    config:
        ``{"name": ..., "params": {...}}`` as validated by the registry (set by ``build_model``).
    """

    Params: ClassVar[type[ModelParams]]
    fixed_length: int | None = None
    #: without autograd, batches larger than this run in pieces, each trimmed to its longest
    #: text: big temporaries (a 1024-row batch) cost more in page faults than in arithmetic on
    #: CPU (CNN, 1 thread: 4.2k → 7.6k texts/s)
    inference_chunk: int = 256

    def __init__(self, vocab_size: int, num_classes: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.num_classes = num_classes
        self.config: dict[str, Any] = {}

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Return logits ``[batch, num_classes]``."""
        ids = self._check_ids(ids)
        if not torch.is_grad_enabled() and ids.size(0) > self.inference_chunk:
            parts = [self._trim(part) for part in ids.split(self.inference_chunk)]
            return torch.cat([self._run(part, None) for part in parts])
        return self._run(ids, None)

    def _trim(self, ids: torch.Tensor) -> torch.Tensor:
        """Drop trailing all-padding columns (no effect on the logits of length-free models)."""
        if self.fixed_length is not None:
            return ids
        used = (ids != PAD_ID).any(0).nonzero()
        return ids[:, : int(used[-1]) + 1] if len(used) else ids[:, :1]

    def forward_with_signals(self, ids: torch.Tensor) -> tuple[torch.Tensor, Signals]:
        """Return logits and a dict of intermediate signals (see each model's docstring)."""
        signals: Signals = {}
        logits = self._run(self._check_ids(ids), signals)
        return logits, signals

    def _run(self, ids: torch.Tensor, signals: Signals | None) -> torch.Tensor:
        raise NotImplementedError

    def sparse_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters whose gradients are sparse (train them with ``SparseAdam``)."""
        return []

    def dense_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters with dense gradients (everything not in ``sparse_parameters``)."""
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in sparse]

    def _check_ids(self, ids: torch.Tensor) -> torch.Tensor:
        if (
            not isinstance(ids, torch.Tensor)
            or ids.dim() != 2
            or ids.dtype
            not in (
                torch.int64,
                torch.int32,
            )
        ):
            found = (
                f"shape {tuple(ids.shape)} dtype {ids.dtype}"
                if isinstance(ids, torch.Tensor)
                else type(ids).__name__
            )
            raise DataError(
                f"{type(self).__name__} input: expected an integer tensor [batch, time]; "
                f"found {found}"
            )
        if ids.numel():
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.vocab_size:
                raise DataError(
                    f"{type(self).__name__} input: token ids must be in [0, {self.vocab_size}); "
                    f"found ids from {low} to {high}"
                )
        return ids.long()
