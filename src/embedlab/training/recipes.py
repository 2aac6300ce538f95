"""The ensemble recipe: one call (``embedlab train --ensemble``) trains its members on the same
splits and writes their ensemble.

The members are overrides of the run's config. :data:`ENSEMBLE_RECIPE` holds the config as
given (the defaults: ``fasttext`` on GloVe 6B 50d with its wide term) and a cnn on the config's
vectors (GloVe by default), each also on the distilled MiniLM static vectors
(``embedlab[minilm]``): of the ensembles the accuracy suite compares (``python
benchmarks/classify.py --suite accuracy --models defaults cnn static``, ``benchmarks/RESULTS.md``),
one of the two at least a point above the best of TF-IDF + LinearSVC and tuned fastText on 7 of
its 8 data sets, and above the other (the three members without the cnn on MiniLM) on those 7.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedlab.atomic import check_destination
from embedlab.config import RunConfig, resolve_config
from embedlab.errors import ConfigError
from embedlab.inference.ensemble import EnsemblePredictor, rechoose_thresholds
from embedlab.kinds import ENSEMBLE_KIND
from embedlab.training.distributed import launched_world_size
from embedlab.training.run import load_splits, predictor_metrics, train_run

log = logging.getLogger("embedlab")

#: member name → dotted-key overrides of the run's config. The MiniLM member comes first: a
#: missing ``embedlab[minilm]`` stops the recipe before anything else trains.
ENSEMBLE_RECIPE: dict[str, dict[str, Any]] = {
    "minilm": {"embeddings.source": "minilm-static-256"},
    "base": {},
    "cnn": {"model.name": "cnn", "model.params": {}},
    "cnn-minilm": {"model.name": "cnn", "model.params": {}, "embeddings.source": "minilm-static-256"},
}


@dataclass
class EnsembleResult:
    """The written ensemble, its members' configs and their scores on the splits."""

    predictor: EnsemblePredictor
    metrics: dict
    out: Path


def train_ensemble(config: RunConfig, out: str | Path, overwrite: bool = False,
                   members: dict[str, dict[str, Any]] | None = None) -> EnsembleResult:
    """Train each member of ``members`` (default :data:`ENSEMBLE_RECIPE`; name → overrides of
    ``config``) on the same train / validation / test splits, then write their ensemble (the
    mean of their probabilities, every member's run directory inside) to ``out``.

    ``metrics`` holds the ensemble's scores on the test split (or validation, without one) under
    ``"test"`` / ``"validation"``, and each member's under ``"members"``."""
    recipe = ENSEMBLE_RECIPE if members is None else members
    if len(recipe) < 2:
        raise ConfigError(f"an ensemble recipe needs at least two members, found {len(recipe)}")
    if launched_world_size() > 1:
        raise ConfigError("an ensemble recipe trains its members one after another in one "
                          "process; run it without torchrun")
    configs = {name: resolve_config(config.override(dict(o)) if o else config)
               for name, o in recipe.items()}
    seen: dict[str, str] = {}
    for name, member in configs.items():  # e.g. --model cnn: "base" would be the cnn again
        key = member.model_dump_json()
        if key in seen:
            raise ConfigError(f"ensemble members {seen[key]} and {name} would be the same model "
                              "(the config already sets what one of them changes); train the "
                              "ensemble from the defaults, or give members that differ")
        seen[key] = name
    out = Path(out)
    check_destination(out, ENSEMBLE_KIND, overwrite)  # before the training, not after it
    splits = load_splits(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.members-", dir=out.parent) as tmp:
        predictors, scores = [], {}
        for i, (name, overrides) in enumerate(recipe.items(), 1):
            log.info("ensemble member %d of %d: %s (%s)", i, len(recipe), name,
                     ", ".join(f"{k}={v}" for k, v in overrides.items()) or "the config as given")
            result = train_run(configs[name], Path(tmp) / name, splits=splits)
            scores[name] = {k: result.metrics[k] for k in ("test", "validation")
                            if k in result.metrics}
            predictors.append(result.predictor)  # its path: the run directory just written
        ensemble = EnsemblePredictor(predictors, names=list(recipe))
        if ensemble.multilabel:
            rechoose_thresholds(ensemble, splits.validation)
        ensemble.save(out, overwrite=overwrite, sources=[f"recipe member {n}" for n in recipe])
    saved = EnsemblePredictor.load(out)  # its members now live in out, verified
    metrics: dict = {"members": scores}
    for split, data in (("test", splits.test), ("validation", splits.validation)):
        if data is not None and len(data):
            metrics[split] = predictor_metrics(saved, data)
    return EnsembleResult(saved, metrics, out)
