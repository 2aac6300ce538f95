"""Running a study: trials until the shared budget or the timeout, then the best config and the
trials table written into the search folder."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from embedlab.atomic import MANIFEST, artifact_kind, atomic_file
from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, ConfigError
from embedlab.experiments.search.objective import _Objective, _shown
from embedlab.experiments.search.space import Space
from embedlab.experiments.search.storage import _check_optuna, _claim_lock, open_storage
from embedlab.kinds import SEARCH_KIND as KIND

log = logging.getLogger("embedlab")


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


def _count(study: Any) -> int:
    """Trials started so far (queued, waiting ones do not count)."""
    import optuna

    return sum(t.state != optuna.trial.TrialState.WAITING for t in study.get_trials(deepcopy=False))



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


def _check_budget(budget: int | None, timeout: float | None) -> None:
    if budget is not None and budget < 1:
        raise ConfigError(f"--trials must be at least 1; found {budget}")
    if budget is None and timeout is None:
        raise ConfigError("give a trial budget (--trials or 'trials' in the space file) or --timeout")
    if timeout is not None and not 0 < timeout < math.inf:  # nan fails both comparisons
        raise ConfigError(f"--timeout must be a positive, finite number of seconds; found {timeout}")


def _open_study(name: str, url: str, store: Any, local: Path | None) -> Any:
    """Create or join the study ``name`` (it must maximise); one-line errors."""
    import optuna

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
    return study


def _claim_trial(study: Any, budget: int | None, local: Path | None) -> Any:
    """A new trial of the study, or None when the shared budget is spent."""
    import optuna

    with _claim_lock(local):
        if budget is not None and _count(study) >= budget:
            return None
        trial = study.ask()
    if budget is not None and trial.number >= budget:  # lost a race on a server storage
        trial.set_user_attr("over_budget", True)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return None
    return trial


def _run_trial(study: Any, trial: Any, objective: _Objective, space: Space) -> None:
    """Train and score one trial and tell the study (a failing trial is told FAIL, then raised)."""
    import optuna

    try:
        value, pruned = objective(trial)
    except BaseException:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    if pruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        log.info("trial %d pruned", trial.number)
    else:
        study.tell(trial, value)
        log.info("trial %d: validation %s %.4f %s", trial.number, space.metric, value, _shown(space, trial))


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
    budget = trials if trials is not None else space.trials
    _check_budget(budget, timeout)
    name = study_name or space.name
    out = Path(out) if out is not None else Path("searches") / Path(name).stem
    _check_out(out)
    if storage is None:
        _make_out(out)
    url = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    store, local = open_storage(url)  # an unreachable storage is reported before anything is written
    _make_out(out)
    study = _open_study(name, url, store, local)
    objective = _Objective(space)
    t0 = time.monotonic()
    ran = 0
    while timeout is None or time.monotonic() - t0 < timeout:
        trial = _claim_trial(study, budget, local)
        if trial is None:
            break
        _run_trial(study, trial, objective, space)
        ran += 1
    return _finish(study, space, url, budget, ran, out)


def _best(done: list[Any], space: Space) -> tuple[float | None, dict[str, Any], RunConfig | None]:
    """The best finished trial's value, parameters (choices as values) and config."""
    if not done:
        return None, {}, None
    best = max(done, key=lambda t: t.value)
    params = {p.key: (p.choices[best.params[p.key]] if p.kind == "choice" else best.params[p.key])
              for p in space.params}
    return float(best.value), params, space.config(params)


def _write_best(out: Path, study_name: str, config: RunConfig) -> Path:
    """``config.yaml`` (the best config) and ``best_grid.yaml`` (it over 3 seeds)."""
    path = out / "config.yaml"
    with atomic_file(path) as tmp:
        tmp.write_text(config.to_yaml(), encoding="utf-8")
    grid = {"name": f"{study_name}-best", "base_config": "config.yaml",
            "variants": [{"name": "best", "set": {}}], "seeds": 3}
    with atomic_file(out / "best_grid.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(grid, sort_keys=False), encoding="utf-8")
    return path


def _write_trials(path: Path, trials: list[Any], space: Space) -> None:
    """``trials.csv``: every trial's number, state, value and parameters."""
    import csv

    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["number", "state", "value", *[p.key for p in space.params]])
        for t in trials:
            vals = [p.choices[t.params[p.key]] if p.kind == "choice" and p.key in t.params
                    else t.params.get(p.key) for p in space.params]
            w.writerow([t.number, t.state.name, "" if t.value is None or math.isnan(t.value)
                        else t.value, *[json.dumps(v) if isinstance(v, list) else v for v in vals]])


def _finish(study: Any, space: Space, url: str, budget: int | None, ran: int, out: Path | None) -> SearchResult:
    import optuna

    states = optuna.trial.TrialState
    all_trials = study.get_trials(deepcopy=False)
    done = [t for t in all_trials if t.state == states.COMPLETE]
    pruned = sum(t.state == states.PRUNED for t in all_trials)
    best_value, best_params, best_config = _best(done, space)
    path = None
    if out is not None:
        if best_config is not None:
            path = _write_best(out, study.study_name, best_config)
        _write_trials(out / "trials.csv", all_trials, space)
    finished = sum(t.state in (states.COMPLETE, states.PRUNED) for t in all_trials)
    return SearchResult(study.study_name, url, space.metric, budget, ran, finished, pruned, best_value,
                        best_params, best_config, path)
