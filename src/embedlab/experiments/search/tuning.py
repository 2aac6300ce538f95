"""``train --autotune``: a time-budgeted, in-memory search over the ranges that apply to a
config, starting from the config itself."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from embedlab.config import RunConfig
from embedlab.errors import ConfigError
from embedlab.experiments.search.objective import _Objective, _shown
from embedlab.experiments.search.space import Space, parse_space
from embedlab.experiments.search.storage import _check_optuna
from embedlab.experiments.search.study import SearchResult, _finish

log = logging.getLogger("embedlab")

#: ranges ``train --autotune`` searches for a model trained with Adam (its rate, batch size and
#: the model's own sizes); keys a model lacks, and settings the user gave, are left out
AUTOTUNE_SPACE: dict[str, dict[str, list]] = {
    "training.lr": {"loguniform": [1e-4, 3e-2]},
    "training.batch_size": {"choice": [32, 64, 128]},
    "embeddings.dim": {"int": [16, 300]},
    "model.params.dropout": {"uniform": [0.0, 0.6]},
    "model.params.filters": {"int": [32, 256]},
    "model.params.hidden_size": {"int": [32, 256]},
    "model.params.pooling": {"choice": ["mean", "sum", "max"]},
    "model.params.ngrams": {"int": [1, 2]},
}

#: ranges for a model trained as fastText trains (``training.optimizer=sgd``: a per-example rate
#: decaying linearly over exactly ``epochs`` epochs — the ``fasttext`` model's default): the rate
#: around its default of 0.2 (Adam's range above would only hold rates 7-2000x smaller), the
#: number of epochs (the schedule's length) and what fastText's own autotune also varies
#: (word n-grams, the size of random vectors); no dropout or batch size, which fastText lacks
AUTOTUNE_SGD_SPACE: dict[str, dict[str, list]] = {
    "training.lr": {"loguniform": [0.05, 1.0]},
    "training.epochs": {"int": [5, 25]},
    "embeddings.dim": {"int": [16, 300]},
    "model.params.ngrams": {"int": [1, 2]},
}


def autotune_space(base: RunConfig) -> Space:
    """The autotune ranges that apply to ``base``: those of its optimizer (``AUTOTUNE_SGD_SPACE``
    for SGD, else ``AUTOTUNE_SPACE``), less the model parameters it lacks, the settings the user
    gave (model parameters, ``training.lr`` and ``training.epochs``) and ``embeddings.dim``
    with pretrained vectors."""
    from embedlab.models import model_param_schema
    from embedlab.training.run import resolve_config

    resolved = resolve_config(base)
    ranges = AUTOTUNE_SGD_SPACE if resolved.training.optimizer == "sgd" else AUTOTUNE_SPACE
    space = {}
    for key, spec in ranges.items():
        if key == "embeddings.dim" and resolved.embeddings.source:
            continue
        if key in ("training.lr", "training.epochs") and getattr(
                base.training, key.removeprefix("training.")) is not None:
            continue  # the user gave it
        if key.startswith("model.params."):
            param = key.removeprefix("model.params.")
            if param not in model_param_schema(base.model.name).model_fields or param in base.model.params:
                continue  # the model has no such parameter, or the user fixed it
        space[key] = spec
    return parse_space({"name": "autotune", "base": base.model_dump(mode="json"), "space": space}, "autotune")


def _start_values(space: Space) -> dict[str, Any]:
    """``space.base``'s own value of every searched key that lies in its range, as Optuna names
    it (a choice by its index): the first trial, so the search never ends below the
    configuration it started from on the validation split."""
    from embedlab.training.run import resolve_config

    resolved = resolve_config(space.base).model_dump(mode="json")
    values: dict[str, Any] = {}
    for p in space.params:
        node: Any = resolved
        for part in p.key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if p.kind == "choice":
            if node in p.choices:
                values[p.key] = p.choices.index(node)
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and p.bounds[0] <= node <= p.bounds[1]:
            values[p.key] = node
    return values


def autotune(base: RunConfig, seconds: float, metric: str = "accuracy",
             splits: Any = None) -> SearchResult:
    """A time-budgeted search on the validation split (in-memory study) over
    :func:`autotune_space`, whose first trial is ``base`` itself; returns the best config.
    ``splits`` (a :class:`embedlab.training.run.Splits`): train and score on these instead of
    the splits ``base.data`` names."""
    _check_optuna()
    import optuna

    if not 0 < seconds < math.inf:  # nan fails both comparisons
        raise ConfigError(f"--autotune needs a positive, finite number of seconds; found {seconds}")
    space = autotune_space(base)
    space.metric = metric
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="autotune", direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1),
                                sampler=optuna.samplers.TPESampler(seed=base.training.seed))
    study.enqueue_trial(_start_values(space))
    objective = _Objective(space, splits)
    t0, ran = time.monotonic(), 0
    while time.monotonic() - t0 < seconds:
        trial = study.ask()
        value, pruned = objective(trial)
        ran += 1
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
            log.info("autotune trial %d: validation %s %.4f %s", trial.number, metric, value,
                     _shown(space, trial))
    return _finish(study, space, "memory", None, ran, None)
