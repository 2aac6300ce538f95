"""Why a classifier decided: token attributions, n-grams, attention, and their faithfulness.

>>> from embedlab.explain import explain                                       # doctest: +SKIP
>>> [e] = explain(embedlab.load("runs/trec-cnn"), ["What is the capital of Peru ?"])  # doctest: +SKIP
>>> e.top_tokens(3)                                                              # doctest: +SKIP

Methods: ``ig`` (integrated gradients, every family), ``exact`` (linear models: fasttext, or bag
with mean or sum pooling, each without a hidden layer), ``ngrams`` (cnn), ``attention`` (rnn with
attention pooling), ``lime``, ``occlusion`` and ``auto`` (the family's best method by
``benchmarks/explain.py``). ``METHODS`` is their
:class:`~embedlab.registry.Registry`; which a model can do, and ``auto``'s choice, its class
says (``ClassifierModule.explanation_methods`` / ``auto_explanation``). Names load lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

# eager: each function must win over the submodule of the same name
from embedlab.explain.faithfulness import faithfulness
from embedlab.explain.render_html import render_html
from embedlab.explain.render_png import render_png
from embedlab.explain.render_terminal import render_terminal

#: name -> module it loads from on first use
_LAZY = {
    "Explanation": "embedlab.explain.explanation",
    "TokenScore": "embedlab.explain.explanation",
    "NGramScore": "embedlab.explain.explanation",
    "ModelView": "embedlab.explain.model_view",
    "available_methods": "embedlab.explain.explainer",
    "METHODS": "embedlab.explain.methods",
    "FaithfulnessReport": "embedlab.explain.faithfulness",
    "global_explanation": "embedlab.explain.global_",
    "render_html_page": "embedlab.explain.render_html",
    "explanations_from_html": "embedlab.explain.render_html",
}

__all__ = [  # noqa: PLE0604
    "explain", "faithfulness", "render_html", "render_png", "render_terminal", *sorted(_LAZY)]


def explain(predictor: Any, texts: Sequence[str], method: str = "auto",
            target: str | int | None = None, **settings: Any) -> list:
    """Explain each text's prediction with ``method``; return one ``Explanation`` per text.

    ``target`` names the class to explain (default: the predicted one). ``settings`` go to the
    method (``n_steps`` for ``ig``, ``num_samples`` and ``seed`` for ``lime``). An empty text is
    a one-line :class:`~embedlab.DataError`; a method the model cannot do or an unknown class is a
    :class:`~embedlab.ConfigError` / ``DataError`` naming what it can do.
    """
    from embedlab.explain.explainer import explain_texts

    return explain_texts(predictor, texts, method, target, **settings)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'embedlab.explain' has no attribute '{name}'")
