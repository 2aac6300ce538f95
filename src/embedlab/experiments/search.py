"""Hyperparameter search with Optuna: a space file of dotted config keys, the validation metric
reported after every epoch to a median pruner (under the plateau schedule; the linear schedule's
mid-run accuracies do not compare across epoch counts, so those trials run to the end), a total
trial budget shared by every worker of a study, and the best configuration written out as a ready
``config.yaml``.

A space file (YAML)::

    name: trec-cnn                         # the study name (default: the file name)
    base: {data: {dataset: trec}, model: {name: cnn}, training: {epochs: 10}}
    metric: accuracy                       # on the validation split: accuracy | macro_f1 | weighted_f1
    trials: 50                             # total budget (``--trials`` overrides)
    space:
      training.lr: {loguniform: [1.0e-4, 1.0e-1]}
      model.params.filters: {int: [16, 256]}
      model.params.dropout: {uniform: [0.0, 0.6]}
      model.params.widths: {choice: [[3, 4, 5], [1, 2, 3]]}

Scale-out is Optuna's: every process started with the same ``--storage`` joins one study —
``sqlite:///study.db`` on one machine, ``journal:PATH`` (Optuna's journal file, e.g. on a shared
file system) or a database server URL (``postgresql://...``, with its driver installed) across
machines. Each worker starts a trial only while the study has fewer than the budget; on local
storages (SQLite, journal file) a file lock makes that check and the trial's creation atomic, so
the budget is met exactly.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from embedlab.atomic import MANIFEST, artifact_kind, atomic_file
from embedlab.config import RunConfig, read_yaml
from embedlab.config.keys import check_key
from embedlab.errors import ArtifactError, ConfigError, suggest
from embedlab.experiments.grid import METRICS, check_top_keys, validate_config

log = logging.getLogger("embedlab")

KINDS = ("loguniform", "uniform", "int", "choice")
SPACE_KEYS = ("name", "base", "base_config", "metric", "trials", "space")


@dataclass
class Param:
    """One dimension of the space."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: list[Any] = field(default_factory=list)

    def suggest(self, trial: Any) -> Any:
        if self.kind == "loguniform":
            return trial.suggest_float(self.key, self.low, self.high, log=True)
        if self.kind == "uniform":
            return trial.suggest_float(self.key, self.low, self.high)
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high))
        index = trial.suggest_categorical(self.key, list(range(len(self.choices))))
        return self.choices[index]

    def probe_values(self) -> list[Any]:
        """Values that must all make a valid config (checked before any trial)."""
        if self.kind == "choice":
            return self.choices
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]


@dataclass
class Space:
    """A parsed, validated search space."""

    name: str
    base: RunConfig
    params: list[Param]
    metric: str = "accuracy"
    trials: int | None = None
    source: str = "space"

    def config(self, values: dict[str, Any]) -> RunConfig:
        return self.base.override(values)


def _param(key: str, spec: Any, source: str) -> Param:
    where = f"{source}: {key}"
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ConfigError(f"{where}: expected one of {', '.join(KINDS)} with its range, e.g. "
                          "{loguniform: [1.0e-4, 1.0e-1]}; found " + repr(spec))
    kind, value = next(iter(spec.items()))
    if kind not in KINDS:
        raise ConfigError(f"{where}: unknown range kind '{kind}'{suggest(str(kind), KINDS)}; "
                          f"known: {', '.join(KINDS)}")
    if kind == "choice":
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: choice needs a non-empty list of values; found {value!r}")
        return Param(key, kind, choices=list(value))
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise ConfigError(f"{where}: {kind} needs [low, high] numbers; found {value!r}")
    low, high = float(value[0]), float(value[1])
    if kind == "int" and (low != int(low) or high != int(high)):
        raise ConfigError(f"{where}: int range needs whole numbers; found {value!r}")
    if not low < high:
        raise ConfigError(f"{where}: inverted range [{value[0]}, {value[1]}]; expected low < high")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}: loguniform range must be positive; found low {value[0]}")
    return Param(key, kind, low, high)


def parse_space(data: Any, source: str = "space", base_dir: Path | None = None,
                overrides: dict[str, Any] | None = None) -> Space:
    """Validate a space mapping (see the module docstring); every range end must give a valid
    config."""
    check_top_keys(data, source, SPACE_KEYS, "space-file")
    if data.get("base_config") is not None:
        path = Path(data["base_config"])
        base = RunConfig.from_yaml(path if path.is_absolute() or base_dir is None else base_dir / path)
    else:
        base = RunConfig.from_dict(data.get("base") or {}, f"{source}: base")
    if overrides:
        base = base.override(overrides)
    space = data.get("space")
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"{source}: empty search space: give 'space' (dotted keys → ranges)")
    params = []
    for key, spec in space.items():
        check_key(key, source)
        param = _param(key, spec, source)
        for value in param.probe_values():
            where = f"{source}: {key}={value!r}"
            try:
                config = base.override({key: value})
            except ConfigError as e:
                raise ConfigError(f"{where}: {str(e).removeprefix('options: ')}") from None
            validate_config(config, where)
        params.append(param)
    metric = data.get("metric", "accuracy")
    if metric not in METRICS:
        raise ConfigError(f"{source}: unknown metric '{metric}'{suggest(str(metric), METRICS)}; "
                          f"known: {', '.join(METRICS)}")
    trials = data.get("trials")
    if trials is not None and (not isinstance(trials, int) or isinstance(trials, bool) or trials < 1):
        raise ConfigError(f"{source}: trials must be a positive integer; found {trials!r}")
    if base.data.val_size <= 0:
        raise ConfigError(f"{source}: the search scores trials on the validation split; data.val_size "
                          "must be above 0")
    return Space(str(data.get("name") or source), base, params, metric, trials, source)


def load_space(path: str | Path, overrides: dict[str, Any] | None = None) -> Space:
    """Read and validate a space YAML file (``overrides``: dotted keys applied to its base)."""
    path = Path(path)
    data = read_yaml(path, "space file")
    if data is not None and isinstance(data, dict) and "name" not in data:
        data["name"] = path.stem
    return parse_space(data, str(path), path.parent, overrides)


# ----------------------------------------------------------------------------- storage

def _check_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError("search needs Optuna: pip install 'embedlab[search]'") from None


def open_storage(url: str) -> tuple[Any, Path | None]:
    """An Optuna storage for ``url`` and, for local files, the path to lock; one-line errors."""
    import optuna

    local: Path | None = None
    if url.startswith("journal:"):
        local = Path(url.removeprefix("journal:")).expanduser()
    elif url.startswith("sqlite:///"):
        local = Path(url.removeprefix("sqlite:///"))
    elif "://" not in url:
        raise ConfigError(f"storage '{url}': expected sqlite:///FILE, journal:FILE or a database URL "
                          "such as postgresql://user@host/db")
    if local is not None and not local.parent.is_dir():
        raise ConfigError(f"storage {url}: folder {local.parent} does not exist")
    try:
        with _claim_lock(local):  # two workers must not create a new database's tables at once
            if url.startswith("journal:"):
                from optuna.storages.journal import JournalFileBackend, JournalStorage

                return JournalStorage(JournalFileBackend(str(local))), local
            kwargs = {} if url.startswith("sqlite") else {"pool_pre_ping": True,
                                                          "connect_args": {"connect_timeout": 10}}
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs), local
    except Exception as e:  # noqa: BLE001  driver missing, server down, bad URL...
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"storage {url} cannot be reached: {msg}") from None


@contextmanager
def _claim_lock(local: Path | None) -> Iterator[None]:
    """Serialise 'count trials, then create one' between workers sharing a local storage."""
    if local is None:
        yield
        return
    fd = os.open(f"{local}.embedlab-lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ----------------------------------------------------------------------------- the search

@dataclass
class SearchResult:
    study_name: str
    storage: str
    metric: str
    budget: int | None
    ran: int
    finished: int
    pruned: int
    best_value: float | None
    best_params: dict[str, Any]
    best_config: RunConfig | None
    config_path: Path | None


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
        from embedlab.training.run import evaluate, fit, resolve_config

        values = {p.key: p.suggest(trial) for p in self.space.params}
        config = self.space.config({**values, "training.progress": False})
        splits = self.splits(config)
        if splits.validation is None or not len(splits.validation):
            raise ConfigError("the search needs a validation split; set data.val_size above 0")
        pruned = False
        # under the linear schedule the rate is still high mid-run: a trial's accuracy at epoch k
        # of a longer schedule says nothing against a shorter one's at k, so nothing is pruned
        linear = resolve_config(config).training.schedule == "linear"

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
        m = evaluate(result.predictor, splits.validation)
        value = {"accuracy": m["accuracy"], "macro_f1": m["macro"]["f1"], "weighted_f1": m["weighted"]["f1"]}
        trial.set_user_attr("train_seconds", result.train_seconds)
        trial.set_user_attr("epochs", len(result.history))
        return float(value[self.space.metric]), False


def _shown(space: Space, trial: Any) -> dict[str, Any]:
    return {p.key: p.choices[trial.params[p.key]] if p.kind == "choice" else trial.params[p.key]
            for p in space.params if p.key in trial.params}


def _count(study: Any) -> int:
    """Trials started so far (queued, waiting ones do not count)."""
    import optuna

    return sum(t.state != optuna.trial.TrialState.WAITING for t in study.get_trials(deepcopy=False))


#: the ``"kind"`` in the ``manifest.json`` of a search folder
KIND = "embedlab-search"


def _check_out(out: Path) -> None:
    """Refuse an ``out`` that is a file, or a non-empty folder that is not a search folder
    (its ``manifest.json`` says ``KIND``): the search writes ``config.yaml`` and other files
    into it, and nothing we write may replace what we did not write. Hidden entries do not
    count (another worker's manifest being written is one)."""
    if out.exists() and not out.is_dir():
        raise ArtifactError(f"{out}: exists and is not a folder; choose another --out")
    if (out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir())
            and artifact_kind(out) != KIND):
        raise ArtifactError(f"{out}: folder is not empty and is not an embedlab search; "
                            "refusing to write into it (choose another --out)")


def _make_out(out: Path) -> None:
    """Create ``out`` with its ``manifest.json`` (kind ``KIND``) if it has none yet."""
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MANIFEST).is_file():
        with atomic_file(out / MANIFEST) as tmp:
            tmp.write_text(json.dumps({"kind": KIND}), encoding="utf-8")


def run_search(space: Space, *, out: str | Path | None = None, trials: int | None = None,
               timeout: float | None = None, storage: str | None = None,
               study_name: str | None = None) -> SearchResult:
    """Run trials until the study holds its budget (``trials``, else the space's) or ``timeout``
    seconds pass; write ``<out>/config.yaml`` (the best config), ``best_grid.yaml`` (it, over 3
    seeds, for ``embedlab experiment run``) and ``trials.csv``. ``out`` defaults to
    ``searches/<study name>`` (a folder with a ``manifest.json`` of kind ``embedlab-search``; a
    non-empty folder without one is refused); the study is stored in ``<out>/study.db`` unless
    ``storage`` is given."""
    _check_optuna()
    import optuna

    budget = trials if trials is not None else space.trials
    if budget is not None and budget < 1:
        raise ConfigError(f"--trials must be at least 1; found {budget}")
    if budget is None and timeout is None:
        raise ConfigError("give a trial budget (--trials or 'trials' in the space file) or --timeout")
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"--timeout must be positive; found {timeout}")
    name = study_name or space.name
    out = Path(out) if out is not None else Path("searches") / Path(name).stem
    _check_out(out)
    if storage is None:
        _make_out(out)
    url = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    store, local = open_storage(url)  # an unreachable storage is reported before anything is written
    _make_out(out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    try:
        with _claim_lock(local):
            study = optuna.create_study(study_name=name, storage=store, direction="maximize",
                                        pruner=pruner, load_if_exists=True)
    except Exception as e:  # noqa: BLE001  e.g. the database refused the schema
        raise ConfigError(f"storage {url}: cannot open study '{name}': {str(e).splitlines()[0]}") from None
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError(f"study '{name}' in {url} does not maximise; choose another --study name")
    objective = _Objective(space)
    t0 = time.monotonic()
    ran = 0
    while True:
        if timeout is not None and time.monotonic() - t0 >= timeout:
            break
        with _claim_lock(local):
            if budget is not None and _count(study) >= budget:
                break
            trial = study.ask()
        if budget is not None and trial.number >= budget:  # lost a race on a server storage
            trial.set_user_attr("over_budget", True)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        try:
            value, pruned = objective(trial)
        except BaseException:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        ran += 1
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            log.info("trial %d pruned", trial.number)
        else:
            study.tell(trial, value)
            log.info("trial %d: validation %s %.4f %s", trial.number, space.metric, value, _shown(space, trial))
    return _finish(study, space, url, budget, ran, out)


def _finish(study: Any, space: Space, url: str, budget: int | None, ran: int, out: Path | None) -> SearchResult:
    import optuna

    states = optuna.trial.TrialState
    all_trials = study.get_trials(deepcopy=False)
    done = [t for t in all_trials if t.state == states.COMPLETE]
    pruned = sum(t.state == states.PRUNED for t in all_trials)
    best_value, best_params, best_config, path = None, {}, None, None
    if done:
        best = max(done, key=lambda t: t.value)
        best_params = {p.key: (p.choices[best.params[p.key]] if p.kind == "choice" else best.params[p.key])
                       for p in space.params}
        best_value = float(best.value)
        best_config = space.config(best_params)
    if out is not None:
        if best_config is not None:
            path = out / "config.yaml"
            with atomic_file(path) as tmp:
                tmp.write_text(best_config.to_yaml(), encoding="utf-8")
            grid = {"name": f"{study.study_name}-best", "base_config": "config.yaml",
                    "variants": [{"name": "best", "set": {}}], "seeds": 3}
            with atomic_file(out / "best_grid.yaml") as tmp:
                tmp.write_text(yaml.safe_dump(grid, sort_keys=False), encoding="utf-8")
        with atomic_file(out / "trials.csv") as tmp:
            import csv

            with open(tmp, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(["number", "state", "value", *[p.key for p in space.params]])
                for t in all_trials:
                    vals = [p.choices[t.params[p.key]] if p.kind == "choice" and p.key in t.params
                            else t.params.get(p.key) for p in space.params]
                    w.writerow([t.number, t.state.name, "" if t.value is None or math.isnan(t.value)
                                else t.value, *[json.dumps(v) if isinstance(v, list) else v for v in vals]])
    finished = sum(t.state in (states.COMPLETE, states.PRUNED) for t in all_trials)
    return SearchResult(study.study_name, url, space.metric, budget, ran, finished, pruned, best_value,
                        best_params, best_config, path)


# ----------------------------------------------------------------------------- autotune

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
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and p.low <= node <= p.high:
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

    if seconds <= 0:
        raise ConfigError(f"--autotune needs a positive number of seconds; found {seconds}")
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
