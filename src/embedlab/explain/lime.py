"""``lime``: the ``lime`` package's ``LimeTextExplainer`` over raw texts.

The text is split with our own tokenizer (the preprocessor's tokens, located in the original
text), so LIME's features are exactly the model's tokens. Order-sensitive models (cnn, rnn,
fasttext with n-grams) are explained with ``bow=False`` — each position its own feature, a
removed token replaced by a space — while order-free ones (bag with mean/sum/max pooling,
fasttext on unigrams) use ``bow=True`` (a word and all its repeats are one feature).
"""

from __future__ import annotations

import numpy as np

from embedlab.explain.extras import require
from embedlab.explain.model_view import ModelView, Prepared
from embedlab.explain.result import MethodResult


def order_free(view: ModelView) -> bool:
    """Does the model ignore word order (so LIME may treat the text as a bag of words)? The
    model's class answers (``ClassifierModule.order_free``)."""
    return bool(view.model.order_free())


def lime(view: ModelView, prepared: Prepared, target: int, num_samples: int = 1000,
         seed: int = 0) -> MethodResult:
    """LIME weights of the explained class, one per seen token."""
    lime_text = require("lime.lime_text", "lime")
    text = prepared.text
    seen = prepared.seen
    # the original-text pieces of the tokens the model sees; the rest stays as filler
    placed, end = [], 0
    for i, (a, b) in enumerate(prepared.spans[:seen]):
        if b > a >= end:  # tokens sharing characters ("İ" → "i" + dot) count once
            placed.append(i)
            end = b
    pieces = [text[prepared.spans[i][0]:prepared.spans[i][1]] for i in placed]
    bow = order_free(view)
    explainer = lime_text.LimeTextExplainer(
        class_names=view.classes, split_expression=lambda _: pieces, bow=bow, mask_string=" ",
        random_state=seed)
    explanation = explainer.explain_instance(
        text, view.proba_raw, labels=(target,), num_features=max(len(pieces), 1),
        num_samples=num_samples)
    weights = dict(explanation.as_map()[target])
    indexed = explanation.domain_mapper.indexed_string
    scores = np.zeros(seen)
    if bow:
        by_word = {indexed.word(f): w for f, w in weights.items()}
        for i in placed:
            a, b = prepared.spans[i]
            scores[i] = by_word.get(text[a:b], 0.0)
    else:
        for f, w in weights.items():
            if f < len(placed):
                scores[placed[f]] = w
    return MethodResult(scores=scores, settings={"num_samples": num_samples, "bow": bow,
                                                 "seed": seed, "output": "probability"},
                        base=float(explanation.intercept[target]))
