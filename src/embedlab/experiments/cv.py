"""The cross-validation protocol: stratified folds from the seed, validation carved from each
fold's training part, the fold itself as the test split.

MR and SUBJ have no official split; the literature (Kim 2014) reports 10-fold cross-validation
on them, and their registry protocol says so. Any other data can be cross-validated with
``folds: K`` in a grid file or ``embedlab train --folds K``: folds are made over the training
data (an official test split, if any, is not used).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embedlab.config import RunConfig
from embedlab.data import TextDataset, dataset_info, load_data, load_dataset, stratified_split
from embedlab.data.splits import kfold_splits, multilabel_kfold, multilabel_split
from embedlab.errors import ConfigError, DataError

if TYPE_CHECKING:
    from embedlab.training.run import RunResult, Splits


def protocol_folds(config: RunConfig) -> int | None:
    """K when the config's built-in data set is evaluated by K-fold cross-validation, else None."""
    if not config.data.dataset:
        return None
    return dataset_info(config.data.dataset).folds


def load_cv_data(config: RunConfig) -> TextDataset:
    """All rows cross-validation folds are made from (the training data, after ``data.limit``)."""
    d = config.data
    if d.dataset:
        data = load_dataset(d.dataset, "train")
    elif d.path:
        data = load_data(d.path, text_columns=d.text_columns, label_column=d.label_column,
                         format=d.format, encoding=d.encoding, empty=d.empty,
                         label_sep=d.label_sep, multilabel=d.multilabel,
                         label_hierarchy=d.label_hierarchy, label_names=d.label_names)
    else:
        raise DataError("no data given: set data.dataset (--dataset) or data.path (--data)")
    if d.limit:
        data = data.subset(np.arange(min(d.limit, len(data))))
    return data


def check_folds(data: TextDataset, k: int, source: str = "") -> None:
    """A one-line error when ``k`` folds cannot each hold every class."""
    if k < 2:
        raise ConfigError(f"{source}folds must be at least 2; found {k}")
    if data.label_sets is not None:  # multi-label: iterative stratification, no per-class rule
        if k > len(data):
            raise ConfigError(f"{source}{k} folds is more than the {len(data)} rows of "
                              f"{data.source}")
        return
    counts = Counter(data.labels)
    cls, smallest = min(counts.items(), key=lambda kv: kv[1])
    if k > smallest:
        raise ConfigError(f"{source}{k} folds is more than the smallest class has rows "
                          f"('{cls}': {smallest} in {data.source}); use at most {smallest} folds")


def fold_splits(config: RunConfig, k: int, fold: int, data: TextDataset | None = None) -> Splits:
    """Train / validation / test of fold ``fold`` (0-based) of ``k``; folds are stratified and
    shuffled with ``training.seed``; validation is ``data.val_size`` of the fold's training part."""
    from embedlab.training.run import Splits

    if not 0 <= fold < k:
        raise ConfigError(f"fold must be in 0..{k - 1}; found {fold}")
    data = data if data is not None else load_cv_data(config)
    check_folds(data, k)
    seed = config.training.seed
    if data.label_sets is not None:  # multi-label rows: iterative stratification
        train_idx, test_idx = multilabel_kfold(data.label_sets, k=k, seed=seed)[fold]
        part = data.subset(train_idx)
        tr, va, _ = multilabel_split(part.label_sets or [], val_size=config.data.val_size,
                                     test_size=0.0, seed=seed)
    else:
        train_idx, test_idx = kfold_splits(data.labels, k=k, seed=seed)[fold]
        part = data.subset(train_idx)
        tr, va, _ = stratified_split(part.labels, val_size=config.data.val_size, test_size=0.0,
                                     seed=seed)
    note = f"cross-validation fold {fold + 1}/{k} (stratified, seed {seed}); test = this fold"
    train = part.subset(tr)
    train.notes = [*data.notes, note]
    validation = part.subset(va) if len(va) else None
    order = list(dataset_info(config.data.dataset).classes) if config.data.dataset else None
    return Splits(train, validation, data.subset(test_idx), order)


def train_fold(config: RunConfig, k: int, fold: int, out: str | Path | None = None,
               data: TextDataset | None = None) -> RunResult:
    """Train and evaluate one fold; ``out`` becomes an ordinary run directory."""
    from embedlab.training.run import train_run

    return train_run(config, out, splits=fold_splits(config, k, fold, data))
