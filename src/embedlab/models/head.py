"""The output head every classifier ends with: an MLP from the pooled text vector to logits."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F


class OutputHead(nn.Module):
    """``[Linear → ReLU → Dropout] × len(hidden) → Linear``; with no hidden layer, ``Dropout →
    Linear`` (dropout always acts on the output layer's input).

    Parameters are ``hidden.<i>.weight/bias`` (one per hidden size) and ``output.weight/bias``.
    """

    def __init__(self, in_features: int, hidden: list[int], num_classes: int, dropout: float) -> None:
        super().__init__()
        sizes = [in_features, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(sizes[-1], num_classes)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        x = pooled
        for layer in self.hidden:
            x = self.dropout(F.relu(layer(x)))
        if not len(self.hidden):
            x = self.dropout(x)
        return self.output(x)
