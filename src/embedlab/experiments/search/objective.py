"""The objective of a trial: train its config on the train split, score it on validation."""

from __future__ import annotations

import json
from typing import Any

from embedlab.config import RunConfig
from embedlab.errors import ConfigError
from embedlab.experiments.search.space import Space


class _Objective:
    """Train one trial's config on the train split, score it on validation; prune by epoch (not
    under the linear schedule)."""

    def __init__(self, space: Space, splits: Any = None) -> None:
        self.space = space
        self._splits: dict[str, Any] = {}
        self._given = splits

    def splits(self, config: RunConfig):
        from embedlab.training.run import load_splits

        if self._given is not None:
            return self._given
        key = json.dumps([config.data.model_dump(mode="json"), config.training.seed], sort_keys=True)
        if key not in self._splits:
            self._splits = {key: load_splits(config)}
        return self._splits[key]

    def __call__(self, trial: Any) -> tuple[float | None, bool]:
        """(value, pruned)."""
        from embedlab.training.run import fit, predictor_metrics, resolve_config

        values = {p.key: p.suggest(trial) for p in self.space.params}
        config = self.space.config({**values, "training.progress": False})
        splits = self.splits(config)
        if splits.validation is None or not len(splits.validation):
            raise ConfigError("the search needs a validation split; set data.val_size above 0")
        pruned = False
        # under the linear schedule the rate is still high mid-run: a trial's accuracy at epoch k
        # of a longer schedule says nothing against a shorter one's at k, so nothing is pruned
        config = resolve_config(config)  # fit gets it resolved: "auto" is decided (and logged) once
        linear = config.training.schedule == "linear"

        def on_epoch_end(row: dict) -> bool:
            nonlocal pruned
            if linear or row.get("val_acc") is None:
                return False
            trial.report(float(row["val_acc"]), int(row["epoch"]))
            pruned = trial.should_prune()
            return pruned

        result = fit(config, splits.train, splits.validation, splits.class_order, on_epoch_end=on_epoch_end)
        if pruned:
            return None, True
        m = predictor_metrics(result.predictor, splits.validation)
        value = {"accuracy": m["accuracy"], "macro_f1": m["macro"]["f1"], "weighted_f1": m["weighted"]["f1"]}
        trial.set_user_attr("train_seconds", result.train_seconds)
        trial.set_user_attr("epochs", len(result.history))
        return float(value[self.space.metric]), False


def _shown(space: Space, trial: Any) -> dict[str, Any]:
    return {p.key: p.choices[trial.params[p.key]] if p.kind == "choice" else trial.params[p.key]
            for p in space.params if p.key in trial.params}
