"""``ngrams`` (cnn): the filters' convolution maps and the n-gram each filter's max-pool chose.

After Jacovi, Sar Shalom & Goldberg (2018), "Understanding Convolutional Neural Networks for Text
Classification": every filter's max-pooled value comes from one window (n-gram) of the text, so
a filter's contribution to the explained class is credited to the n-gram it chose. The
contribution of pooled feature f is ``pooled_f · ∂logit/∂pooled_f``: exactly ``w_f · pooled_f``
(Jacovi et al.'s quantity) for a linear head, and with a ReLU hidden layer the head is linear in
the region the text falls in, so the contributions plus that region's constant (``base``) still
equal the logit. Filters that chose the same window are merged into one n-gram entry; a token's
score is the sum of its n-grams' contributions, each split evenly over the n-gram's tokens.
"""

from __future__ import annotations

import numpy as np
import torch

from embedlab.errors import ConfigError
from embedlab.explain.model_view import ModelView, Prepared
from embedlab.explain.result import MethodResult
from embedlab.models.classifier import ClassifierModule
from embedlab.models.cnn import CNNClassifier


def head_contributions(model: ClassifierModule, pooled: torch.Tensor,
                       target: int) -> tuple[np.ndarray, float]:
    """``(contribution per pooled feature, logit − their sum)`` for one pooled vector."""
    with torch.enable_grad():
        x = pooled.detach().clone().requires_grad_(True)
        logit = model.head(x)[0, target]
        (grad,) = torch.autograd.grad(logit, x)
    contributions = (grad * x)[0].detach().double().numpy()
    return contributions, float(logit.detach()) - float(contributions.sum())


def cnn_model(model: ClassifierModule) -> CNNClassifier:
    """``model`` as the cnn the n-gram statistics need (its widths, filters and windows)."""
    if not isinstance(model, CNNClassifier):
        raise ConfigError("method 'ngrams' needs a cnn model")
    return model


def cnn_signals(model: CNNClassifier, ids: torch.Tensor) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        _, signals = model.forward_with_signals(ids)
    return signals


def ngrams(view: ModelView, prepared: Prepared, target: int) -> MethodResult:
    """Chosen n-grams with their contributions, token scores, and each width's filter maps."""
    model = cnn_model(view.model)
    ids = view.pad([prepared.ids])
    signals = cnn_signals(model, ids)
    contributions, base = head_contributions(model, signals["pooled"], target)
    seen = prepared.seen
    scores = np.zeros(seen)
    merged: dict[tuple[int, int], list[float]] = {}
    maps: dict[str, list[list[float]]] = {}
    choices: dict[str, list[int]] = {}
    filters = model.params.filters
    pooled = signals["pooled"][0].numpy()
    for i, k in enumerate(model.widths):
        argmax = signals[f"pool_argmax.{k}"][0].tolist()
        maps[str(k)] = np.round(signals[f"conv_maps.{k}"][0, :, :seen].double().numpy(),
                                5).tolist()
        choices[str(k)] = [int(p) if pooled[i * filters + f] > 0 else -1
                           for f, p in enumerate(argmax)]
        for f, position in enumerate(argmax):
            value = float(contributions[i * filters + f])
            if value == 0.0:
                continue
            a, b = model.window(k, position)
            a, b = max(a, 0), min(b, seen)
            if b <= a:
                continue
            scores[a:b] += value / (b - a)
            entry = merged.setdefault((a, b - 1), [0.0, 0])
            entry[0] += value
            entry[1] += 1
    grams = [(a, last, total, int(count)) for (a, last), (total, count) in merged.items()]
    return MethodResult(scores=scores, base=base, maps=maps, choices=choices, ngrams=grams,
                        settings={"widths": list(model.widths), "filters": filters,
                                  "contribution": "pooled value x head gradient"})
