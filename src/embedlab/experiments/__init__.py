"""Experiments: grids of run configs over seeds and cross-validation folds, resumable runs,
reports with spread and paired comparisons, built-in tutorial experiments, hyperparameter
search (Optuna) and tracking (MLflow).

>>> from embedlab.experiments import load_builtin, run_experiment, write_report
>>> grid = load_builtin("tutorial-flax-pooling", seeds=[0])          # doctest: +SKIP
>>> run_experiment(grid, "experiments/flax"); write_report("experiments/flax")  # doctest: +SKIP
"""

from embedlab.experiments.cv import fold_splits, train_fold
from embedlab.experiments.grid import Grid, builtin_names, load_builtin, load_grid, parse_grid
from embedlab.experiments.report import build_report, write_report
from embedlab.experiments.runner import ExperimentResult, run_experiment
from embedlab.experiments.search import autotune, load_space, parse_space, run_search

__all__ = ["ExperimentResult", "Grid", "autotune", "build_report", "builtin_names", "fold_splits",
           "load_builtin", "load_grid", "load_space", "parse_grid", "parse_space", "run_experiment",
           "run_search", "train_fold", "write_report"]
