"""The explanation methods, by name: the one registry ``explain``, ``auto`` and the CLI use.

A method is ``fn(view, prepared, target, **settings) -> MethodResult``; its keyword settings
(``n_steps``, ``num_samples``...) are read from its signature. Which methods a model can do is
the model class's answer (``ClassifierModule.explanation_methods``), not this table's.
"""

from __future__ import annotations

from collections.abc import Callable

from embedlab.explain.attention import attention
from embedlab.explain.exact import exact
from embedlab.explain.ig import integrated_gradients
from embedlab.explain.lime import lime
from embedlab.explain.ngrams import ngrams
from embedlab.explain.occlusion import occlusion
from embedlab.explain.result import MethodResult
from embedlab.registry import Registry

Method = Callable[..., MethodResult]

#: every explanation method by name (``auto`` is not one: it picks one of these per model)
METHODS: Registry[Method] = Registry("explanation method")
METHODS.register("ig", integrated_gradients)
METHODS.register("exact", exact)
METHODS.register("ngrams", ngrams)
METHODS.register("attention", attention)
METHODS.register("lime", lime)
METHODS.register("occlusion", occlusion)
