"""``attention``: the rnn's masked attention weights per token.

Attention weights say where the pooling looked, not how much each token moved the decision
(Jain & Wallace 2019): every rendering labels them "attention weights, not an attribution".
"""

from __future__ import annotations

import torch

from embedlab.errors import ConfigError
from embedlab.explain.model_view import ModelView, Prepared
from embedlab.explain.result import MethodResult

LABEL = "attention weights, not an attribution"


def attention(view: ModelView, prepared: Prepared, target: int) -> MethodResult:
    """The attention weight of each seen token (they sum to 1)."""
    with torch.no_grad():
        _, signals = view.model.forward_with_signals(view.pad([prepared.ids]))
    if "attention" not in signals:
        raise ConfigError("method 'attention' needs an rnn trained with pooling 'attention'; "
                          f"this one pools with '{getattr(view.params, 'pooling', '?')}'")
    weights = signals["attention"][0, : prepared.seen].double().numpy()
    return MethodResult(scores=weights, score_kind="attention", settings={"label": LABEL})
