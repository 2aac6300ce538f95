"""Experiments: grids of run configs over seeds and cross-validation folds, resumable runs,
reports with spread and paired comparisons, built-in tutorial experiments, hyperparameter
search (Optuna) and tracking (MLflow)."""

from embedlab.experiments.grid import Grid, builtin_names, load_builtin, load_grid, parse_grid
from embedlab.experiments.runner import ExperimentResult, run_experiment

__all__ = ["ExperimentResult", "Grid", "builtin_names", "load_builtin", "load_grid", "parse_grid",
           "run_experiment"]
