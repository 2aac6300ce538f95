"""Reproducible stratified train/validation/test splits and k-fold cross-validation."""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from embedlab.errors import ConfigError, DataError

logger = logging.getLogger("embedlab")


def _can_stratify(counts: Counter[str], n_total: int, n_split: int) -> bool:
    """sklearn's conditions: every class has 2+ members and both parts hold every class."""
    n_classes = len(counts)
    return min(counts.values()) >= 2 and n_classes <= n_split <= n_total - n_classes


def _split_once(
    indices: np.ndarray, labels: np.ndarray, n_part: int, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``indices`` into (rest, part) with ``n_part`` examples in ``part``."""
    n = len(indices)
    if n_part == 0:
        return indices, indices[:0]
    if n_part >= n:
        raise DataError(
            f"cannot carve a {what} split of {n_part} from {n} examples; expected fewer"
        )
    counts = Counter(labels[indices].tolist())
    stratify = labels[indices] if _can_stratify(counts, n, n_part) else None
    if stratify is None:
        rare = sorted(c for c, k in counts.items() if k < 2)
        why = f"classes with one example: {', '.join(rare)}" if rare else (
            f"{len(counts)} classes do not fit in {n_part} {what} / {n - n_part} other examples"
        )
        logger.warning("%s split is not stratified (%s); using a plain random split", what, why)
    rest, part = train_test_split(indices, test_size=n_part, random_state=seed,
                                  shuffle=True, stratify=stratify)
    return np.sort(rest), np.sort(part)


def stratified_split(
    labels: Sequence[str] | np.ndarray,
    *,
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split example indices into train / validation / test, preserving class proportions.

    Parameters
    ----------
    labels:
        Class of each example.
    val_size, test_size:
        Shares of the whole data set, in ``[0, 1)`` with ``val_size + test_size < 1``.
        ``0`` gives an empty array. Defaults give 70/15/15.
    seed:
        Same labels and seed → same split.

    Returns
    -------
    tuple of numpy.ndarray
        Sorted ``int64`` index arrays ``(train, validation, test)``, disjoint, covering every
        example.

    Notes
    -----
    Stratification needs every class to have at least two members and every part to be at
    least as large as the number of classes. When that fails the split falls back to a
    plain random one and logs a warning on the ``"embedlab"`` logger (naming the rare
    classes), rather than failing: tiny or very unbalanced data sets can still be split.

    Examples
    --------
    >>> tr, va, te = stratified_split(["a"] * 10 + ["b"] * 10, seed=0)
    >>> len(tr), len(va), len(te)
    (14, 3, 3)
    """
    for name, value in (("val_size", val_size), ("test_size", test_size)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name} must be in [0, 1); found {value}")
    if val_size + test_size >= 1.0:
        raise ConfigError(
            f"val_size + test_size must be below 1; found {val_size} + {test_size}"
        )
    y = np.asarray([str(label) for label in labels], dtype=object)
    if y.size == 0:
        raise DataError("cannot split an empty data set")
    everything = np.arange(len(y), dtype=np.int64)
    n_test = int(np.ceil(test_size * len(y)))
    n_val = int(np.ceil(val_size * len(y)))
    rest, test = _split_once(everything, y, n_test, seed, "test")
    train, val = _split_once(rest, y, n_val, seed, "validation")
    return train, val, test


def kfold_splits(
    labels: Sequence[str] | np.ndarray, k: int = 10, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold cross-validation folds, as in Kim (2014) for MR and SUBJ.

    Returns
    -------
    list of (train_indices, test_indices)
        ``k`` pairs; every example is in exactly one test fold. Shuffled with ``seed``.
    """
    if k < 2:
        raise ConfigError(f"k must be at least 2; found {k}")
    y = np.asarray([str(label) for label in labels], dtype=object)
    if len(y) < k:
        raise DataError(f"cannot make {k} folds from {len(y)} examples; expected at least {k}")
    smallest = min(Counter(y.tolist()).values())
    if smallest < k:
        logger.warning(
            "a class has only %d example(s), fewer than k=%d: some folds will lack it",
            smallest, k,
        )
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # the rare-class case is logged above
        warnings.simplefilter("ignore", UserWarning)
        return [
            (train.astype(np.int64), test.astype(np.int64))
            for train, test in folds.split(np.zeros(len(y)), y)
        ]
