"""``exact``: each word's and each n-gram's exact share of the logit, for linear models.

The ``fasttext`` model (and a ``bag`` with mean/sum pooling and no hidden layer) computes
``logit_c = b_c + w_c · (Σ_i v_i) / n`` (``fasttext`` version 4 adds its wide term,
``Σ_f x_f · W_{f,c}`` over the text's tf-idf features ``x_f``): the logit is affine in the
token and n-gram vectors ``v_i`` and in the wide features, so ``w_c · v_i / n`` (plus the
word's wide share) is feature i's exact contribution and the contributions plus the bias
``b_c`` equal the logit. It is computed as gradient × input through the model's own
per-token path (one forward and one backward pass), which is the same number for an affine
function, so no formula is duplicated here.
"""

from __future__ import annotations

import torch

from embedlab.errors import ConfigError
from embedlab.explain.ig import _ngram_features
from embedlab.explain.model_view import ModelView, Prepared
from embedlab.explain.result import MethodResult, spread


def exact(view: ModelView, prepared: Prepared, target: int) -> MethodResult:
    """Exact contributions (n-gram ones listed as n-grams, and split evenly over their words)."""
    if not view.is_linear():
        raise ConfigError("method 'exact' needs a model that is linear in its pooled vector "
                          "(fasttext, or bag with mean/sum pooling, both with hidden=[])")
    model = view.model
    ids = view.pad([prepared.ids])
    with torch.enable_grad():
        vectors = model.embed(ids).detach().requires_grad_(True)
        # row 0: the text; row 1: the same positions with zero vectors, whose logit is the bias
        both = torch.cat([vectors, torch.zeros_like(vectors)])
        logits = model.forward_embedded(both, ids.expand(2, -1))[:, target]
        (grad,) = torch.autograd.grad(logits[0], vectors)
    base = float(logits[1].detach())
    features = (grad * vectors).sum(-1)[0].detach().double().numpy()
    spans = model.feature_spans(ids).numpy()
    return MethodResult(scores=spread(features, spans, prepared.seen), base=base,
                        settings={"output": "logit"},
                        ngrams=_ngram_features(features, spans, prepared.seen))
