"""The ensemble recipe: one call (``embedlab train --ensemble``) trains its members on the same
splits and writes their ensemble.

The members are overrides of the run's config. :data:`ENSEMBLE_RECIPE` holds the config as
given (the defaults: ``fasttext`` on GloVe 6B 50d with its wide term), the same on the distilled
MiniLM static vectors (``embedlab[minilm]``), a cnn on the MiniLM vectors, and Kim's wider cnn
(widths 1-5, 100 filters each) on the config's vectors stacked with the MiniLM ones
(``glove-6b-50d+minilm-static-256`` by default, :func:`member_overrides`). The accuracy suite
(``python benchmarks/classify.py --suite accuracy --models defaults cnn static stacked
bagged``, ``benchmarks/RESULTS.md``) measures it beside the recipe it replaced (the same with the
default cnn on GloVe alone).

``bag_folds`` (``--bag-folds K``) bags the recipe as AutoGluon bags its models: the training and
validation texts pooled into K folds, each member trained once per fold with that fold held out
for its calibration, so no labelled text is kept out of training, and the members weighted on
their out-of-fold probabilities (``--models bagged`` in the same suite, ``--bag-folds K``).
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
from embedlab.inference.ensemble import (
    EnsemblePredictor,
    fit_member_weights,
    rechoose_thresholds,
)
from embedlab.kinds import ENSEMBLE_KIND
from embedlab.training.distributed import launched_world_size
from embedlab.training.run import Splits, load_splits, predictor_metrics, train_run

log = logging.getLogger("embedlab")

#: in a member's ``embeddings.source``, the run's own vectors (:func:`member_overrides`)
RUN_VECTORS = "{vectors}"

#: member name → dotted-key overrides of the run's config. The MiniLM member comes first: a
#: missing ``embedlab[minilm]`` stops the recipe before anything else trains. The ``cnn``
#: member is Kim's wider cnn (widths 1-5, 100 filters each) on the run's vectors stacked with
#: the MiniLM ones (``glove-6b-50d+minilm-static-256`` by default).
ENSEMBLE_RECIPE: dict[str, dict[str, Any]] = {
    "minilm": {"embeddings.source": "minilm-static-256"},
    "base": {},
    "cnn": {"model.name": "cnn", "model.params": {"widths": [1, 2, 3, 4, 5], "filters": 100},
            "embeddings.source": f"{RUN_VECTORS}+minilm-static-256"},
    "cnn-minilm": {"model.name": "cnn", "model.params": {}, "embeddings.source": "minilm-static-256"},
}


def member_overrides(config: RunConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` with :data:`RUN_VECTORS` in its ``embeddings.source`` replaced by the
    config's vectors as resolved (``auto``: GloVe 6B 50d); a config with random vectors drops
    that part of a stack (``{vectors}+minilm-static-256`` is then ``minilm-static-256``), and a
    source named twice is stacked once."""
    from embedlab.config.defaults import resolve_vectors
    from embedlab.embeddings.registry import STACK, stack_parts

    source = overrides.get("embeddings.source")
    if not isinstance(source, str) or RUN_VECTORS not in source:
        return overrides
    own = resolve_vectors(config.embeddings.source, config.embeddings.dim)
    parts = [own if part == RUN_VECTORS else part for part in stack_parts(source)]
    kept = list(dict.fromkeys(part for part in parts if part))  # and each source once
    if not kept:
        raise ConfigError(f"member source '{source}' needs the run's vectors, and the run "
                          "has none (random embeddings)")
    return {**overrides, "embeddings.source": STACK.join(kept)}


@dataclass
class EnsembleResult:
    """The written ensemble, its members' configs and their scores on the splits."""

    predictor: EnsemblePredictor
    metrics: dict
    out: Path


def bag_splits(splits: Splits, k: int, seed: int) -> list[Splits]:
    """The ``k`` splits of a bagged recipe: the training and validation texts pooled and cut
    into ``k`` stratified folds (iterative stratification for multi-label texts, shuffled with
    ``seed``); split ``j`` trains on every fold but ``j``, validates (calibrates, stops) on fold
    ``j`` and keeps ``splits.test``. Every pooled text is held out by exactly one split."""
    from embedlab.data import kfold_splits, multilabel_kfold

    if k < 2:
        raise ConfigError(f"bag_folds must be at least 2; found {k}")
    pooled = splits.train if splits.validation is None else splits.train.concat(splits.validation)
    folds = (multilabel_kfold(pooled.label_sets, k, seed) if pooled.label_sets is not None
             else kfold_splits(pooled.labels, k, seed))
    out = [Splits(pooled.subset(tr), pooled.subset(held), splits.test, splits.class_order)
           for tr, held in folds]
    for part in out:  # a class with one text: the run holding it out would not know the class
        missing = sorted(set(pooled.classes) - set(part.train.classes))
        if missing:
            raise ConfigError(f"class '{missing[0]}' has too few labelled texts to bag: the run "
                              "that holds its fold out would never see it; give it at least 2 "
                              "texts, or train the ensemble without bag_folds (--bag-folds)")
    return out


def train_ensemble(config: RunConfig, out: str | Path, overwrite: bool = False,
                   members: dict[str, dict[str, Any]] | None = None, *,
                   bag_folds: int | None = None, splits: Splits | None = None) -> EnsembleResult:
    """Train each member of ``members`` (default :data:`ENSEMBLE_RECIPE`; name → overrides of
    ``config``, where :data:`RUN_VECTORS` in ``embeddings.source`` is the config's own vectors)
    on the same train / validation / test splits (``splits``, or the config's own), then write
    their ensemble (the mean of their probabilities, every member's run directory
    inside) to ``out``.

    ``bag_folds=K`` bags the recipe (as AutoGluon's ``num_bag_folds``): the training and
    validation texts are pooled and cut into K folds (:func:`bag_splits`), and each member is
    trained K times, each time on all folds but one and calibrated on the one it left out
    (training seed: the member's + the fold's index), so every labelled text trains and every
    one calibrates. Each pooled text is then scored by the runs that held it out (its
    out-of-fold probabilities), and on those the members get weights (one per member, shared by
    its K runs) that maximise the likelihood of the labels (:func:`fit_member_weights`); a
    member weighted under :data:`MIN_MEMBER_WEIGHT` is left out. The ensemble is the weighted
    mean of the remaining runs (named ``member.j``); a multi-label one's thresholds are chosen
    on the out-of-fold probabilities too, and a single-label one keeps their conformal scores,
    so ``predict(..., coverage=)`` gives prediction sets (near the coverage asked, see
    :meth:`EnsemblePredictor.set_threshold`).

    ``metrics`` holds the ensemble's scores on the test split (or, unbagged with no test split,
    on validation) under ``"test"`` / ``"validation"``, and each member's under ``"members"``
    (a bagged run's ``"validation"`` is the fold it left out); bagged, ``"weights"`` holds
    the fitted weight of each member kept and ``"out_of_fold"`` the weighted out-of-fold scores
    (each pooled text scored by the runs that held it out; single-label: ``accuracy``)."""
    recipe = {name: member_overrides(config, o)
              for name, o in (ENSEMBLE_RECIPE if members is None else members).items()}
    if len(recipe) < 2:
        raise ConfigError(f"an ensemble recipe needs at least two members, found {len(recipe)}")
    if launched_world_size() > 1:
        raise ConfigError("an ensemble recipe trains its members one after another in one "
                          "process; run it without torchrun")
    if bag_folds is not None and bag_folds < 2:
        raise ConfigError(f"bag_folds must be at least 2 (or None: no bagging); found {bag_folds}")
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
    splits = load_splits(config) if splits is None else splits
    seed = config.training.seed
    folds = [splits] if bag_folds is None else bag_splits(splits, bag_folds, seed)
    runs = [(name if bag_folds is None else f"{name}.{j + 1}", name, j)
            for j in range(len(folds)) for name in recipe]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.members-", dir=out.parent) as tmp:
        predictors, scores = [], {}
        for i, (run, name, j) in enumerate(runs, 1):
            overrides = ", ".join(f"{k}={v}" for k, v in recipe[name].items())
            log.info("ensemble member %d of %d: %s (%s)%s", i, len(runs), run,
                     overrides or "the config as given",
                     "" if bag_folds is None else f", fold {j + 1} of {bag_folds} held out")
            member = configs[name] if not j else configs[name].override(
                {"training.seed": configs[name].training.seed + j})
            result = train_run(member, Path(tmp) / run, splits=folds[j])
            scores[run] = {k: result.metrics[k] for k in ("test", "validation")
                           if k in result.metrics}
            predictors.append(result.predictor)  # its path: the run directory just written
        ensemble = EnsemblePredictor(predictors, names=[r for r, _, _ in runs])
        weights, out_of_fold = None, None
        if bag_folds is None:
            if ensemble.multilabel:
                rechoose_thresholds(ensemble, splits.validation)
        else:
            ensemble, weights, out_of_fold = _weigh_out_of_fold(ensemble, folds, list(recipe))
        ensemble.save(out, overwrite=overwrite,
                      sources=[f"recipe member {n}" for n in ensemble.names])
    saved = EnsemblePredictor.load(out)  # its members now live in out, verified
    metrics: dict = {"members": scores}
    if weights is not None:
        metrics["weights"] = weights
        metrics["out_of_fold"] = out_of_fold
    scored = (("test", splits.test),) if bag_folds else (
        ("test", splits.test), ("validation", splits.validation))
    for split, data in scored:
        if data is not None and len(data):
            metrics[split] = predictor_metrics(saved, data)
    return EnsembleResult(saved, metrics, out)


#: a bagged member whose fitted weight is below this is left out of the ensemble (its runs
#: would cost prediction time for nothing)
MIN_MEMBER_WEIGHT = 0.01


def _weigh_out_of_fold(ensemble: EnsemblePredictor, folds: list[Splits], names: list[str]
                       ) -> tuple[EnsemblePredictor, dict[str, float], dict[str, Any]]:
    """A bagged ensemble weighted on its out-of-fold probabilities (each pooled text scored by
    the runs that held its fold out): one weight per member, shared by its runs, fitted by
    :func:`fit_member_weights`; a member under :data:`MIN_MEMBER_WEIGHT` is dropped. A
    multi-label ensemble's thresholds are then chosen on the same probabilities, a
    single-label one keeps their conformal scores (prediction sets). Also returns
    the weighted out-of-fold scores (single-label: accuracy and the number of texts)."""
    import numpy as np

    from embedlab.training.run import encode_labels

    per = len(names)
    held = [f.validation for f in folds if f.validation is not None]
    pooled = held[0]
    for part in held[1:]:
        pooled = pooled.concat(part)
    oof = np.stack([np.concatenate([ensemble.member_probabilities(j * per + t, part.texts)
                                    for j, part in enumerate(held)]) for t in range(per)])
    y = encode_labels(ensemble.labels, pooled)
    fitted = fit_member_weights(oof, y, ensemble.multilabel)
    keep = [t for t in range(per) if fitted[t] >= MIN_MEMBER_WEIGHT] or [int(fitted.argmax())]
    share = fit_member_weights(oof[keep], y, ensemble.multilabel)  # refitted without the rest
    weights = {names[t]: float(w) for t, w in zip(keep, share, strict=True)}
    log.info("member weights fitted on %d out-of-fold texts: %s", len(pooled), ", ".join(
        f"{n} {weights[n]:.3f}" if n in weights else f"{n} {fitted[t]:.3f} (left out)"
        for t, n in enumerate(names)))
    runs = [j * per + t for j in range(len(held)) for t in keep]
    weighted = EnsemblePredictor([ensemble.members[i] for i in runs],
                                 weights=[weights[names[i % per]] for i in runs],
                                 names=[ensemble.names[i] for i in runs])
    mixed = np.tensordot(share, oof[keep], 1)
    scores: dict[str, Any] = {"texts": len(pooled)}
    if weighted.multilabel:
        rechoose_thresholds(weighted, pooled, mixed)
    else:
        scores["accuracy"] = float((mixed.argmax(1) == y).mean())
        weighted.conformal_scores = np.sort(1.0 - mixed[np.arange(len(y)), y]).tolist()
    return weighted, weights, scores
