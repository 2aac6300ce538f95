"""``ig``: integrated gradients (captum ``LayerIntegratedGradients``) on the embedding layer.

Every model family offers the same per-token path, ``embed(ids)`` → ``forward_embedded(vectors,
ids)``; the bag and fasttext models pool with ``nn.EmbeddingBag``, where no hook could see the
tokens, so their ``embed`` returns the token (and n-gram) vectors the bag would sum. Captum
attributes the target class's logit (not its softmax) to the output of that embedding layer,
along the straight path from an all-``<PAD>`` baseline of the same length (zero vectors, the
text's positions unchanged) to the text. Attributions sum to ``logit(x) − logit(baseline)`` up
to the convergence delta ``Σ attributions − (logit(x) − logit(baseline))``; a large delta is flagged in the notes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from embedlab.explain.extras import require
from embedlab.explain.model_view import ModelView, Prepared
from embedlab.explain.result import MethodResult, spread
from embedlab.models.classifier import ClassifierModule

#: flag the result when |delta| exceeds this share of |logit(x) − logit(baseline)| (and 0.01)
DELTA_WARNING = 0.05


class _TokenVectors(nn.Module):
    """The per-token embedding layer of a classifier, as a module captum can hook."""

    def __init__(self, model: ClassifierModule) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.embed(ids)


class _OnText(nn.Module):
    """``ids → logits`` where the vectors come from ``ids`` but the text's positions are fixed.

    The baseline (all ``<PAD>``) then means "zero vectors at the text's own positions", which is
    where the interpolation path starts.
    """

    def __init__(self, model: ClassifierModule, ids: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.tokens = _TokenVectors(model)
        self.text_ids = ids

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        vectors = self.tokens(ids)
        return self.model.forward_embedded(vectors, self.text_ids.expand(ids.size(0), -1))


def integrated_gradients(view: ModelView, prepared: Prepared, target: int, n_steps: int = 50,
                         internal_batch_size: int | None = None) -> MethodResult:
    """Per-token IG scores (feature attributions summed over the embedding dimension)."""
    captum_attr = require("captum.attr", "ig")
    model = view.model
    ids = view.pad([prepared.ids])
    wrapper = _OnText(model, ids)
    lig = captum_attr.LayerIntegratedGradients(wrapper, wrapper.tokens)
    baseline = torch.zeros_like(ids)
    with torch.enable_grad():
        attributions = lig.attribute(ids, baselines=baseline, target=target, n_steps=n_steps,
                                     internal_batch_size=internal_batch_size or n_steps)
    with torch.no_grad():  # both ends in one pass (captum's own delta would cost two)
        ends = wrapper(torch.cat([ids, baseline]))[:, target].double()
    features = attributions[0].sum(-1).detach().double().numpy()
    spans = model.feature_spans(ids).numpy()
    delta = float(features.sum() - (ends[0] - ends[1]))
    result = MethodResult(
        scores=spread(features, spans, prepared.seen),
        settings={"n_steps": n_steps, "baseline": "<PAD>", "output": "logit"},
        delta=delta, base=float(ends[1]), ngrams=_ngram_features(features, spans, prepared.seen))
    gap = abs(float(ends[0] - ends[1]))
    if abs(delta) > max(DELTA_WARNING * gap, 0.01):
        result.notes.append(f"integrated gradients did not converge well (delta {delta:.3g}"
                            f" for a logit change of {gap:.3g}); raise n_steps")
    return result


def _ngram_features(features: np.ndarray, spans: np.ndarray,
                    seen: int) -> list[tuple[int, int, float, int]]:
    """Features that cover several tokens (fasttext's hashed n-grams) as n-gram entries."""
    spans = np.asarray(spans).reshape(-1, 2)
    many = np.nonzero((spans[:, 1] - spans[:, 0] > 1) & (spans[:, 1] <= seen))[0]
    return [(int(spans[i, 0]), int(spans[i, 1]) - 1, float(features[i]), 0) for i in many]
