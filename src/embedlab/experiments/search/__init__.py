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

The package is split by idea: :mod:`.space` (the space file), :mod:`.storage` (where a study
lives), :mod:`.objective` (one trial), :mod:`.study` (running a study, writing its results) and
:mod:`.tuning` (``train --autotune``).
"""

from __future__ import annotations

from embedlab.experiments.search.objective import _Objective
from embedlab.experiments.search.space import (
    KINDS,
    SPACE_KEYS,
    Param,
    Space,
    load_space,
    parse_space,
)
from embedlab.experiments.search.storage import open_storage
from embedlab.experiments.search.study import KIND, SearchResult, run_search
from embedlab.experiments.search.tuning import (
    AUTOTUNE_SGD_SPACE,
    AUTOTUNE_SPACE,
    _start_values,
    autotune,
    autotune_space,
)

__all__ = ["AUTOTUNE_SGD_SPACE", "AUTOTUNE_SPACE", "KIND", "KINDS", "SPACE_KEYS", "Param",
           "SearchResult", "Space", "_Objective", "_start_values", "autotune", "autotune_space",
           "load_space", "open_storage", "parse_space", "run_search"]
