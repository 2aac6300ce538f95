"""Reproducible stratified train/validation/test splits and k-fold cross-validation."""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from embedlab.errors import ConfigError, DataError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger("embedlab")


#: how many class names a warning lists before "and N more"
SHOWN_CLASSES = 10


def _first(names: Iterable[str], limit: int = SHOWN_CLASSES) -> str:
    """``names`` joined with commas, cut after ``limit`` with "and N more": a warning about
    3,000 one-example classes stays readable."""
    items = list(names)
    shown = ", ".join(items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


def _can_stratify(counts: Counter[str], n_total: int, n_split: int) -> bool:
    """sklearn's conditions: every class has 2+ members and both parts hold every class."""
    n_classes = len(counts)
    return min(counts.values()) >= 2 and n_classes <= n_split <= n_total - n_classes


def _split_once(
    indices: np.ndarray, labels: np.ndarray, n_part: int, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``indices`` into (rest, part) with up to ``n_part`` examples in ``part``.

    Every class of ``indices`` keeps at least one example in ``rest``.
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    counts = Counter(labels[indices].tolist())
    n = len(indices)
    room = n - len(counts)  # what can leave while every class keeps one example
    if n_part > room and n:
        logger.warning(
            "%s split has %d example(s) instead of %d, so that each of the %d classes keeps an "
            "example in training", what, max(room, 0), n_part, len(counts),
        )
    n_part = min(n_part, room)
    if n_part <= 0:
        return np.sort(indices), indices[:0]
    stratify = labels[indices] if _can_stratify(counts, n, n_part) else None
    if stratify is None:
        why = f"{len(counts)} classes do not fit in {n_part} {what} / {n - n_part} other examples"
        logger.warning("%s split is not stratified (%s); using a plain random split", what, why)
    rest, part = train_test_split(indices, test_size=n_part, random_state=seed,
                                  shuffle=True, stratify=stratify)
    rest_labels = set(labels[rest].tolist())
    for cls in sorted(set(counts) - rest_labels):  # only possible for an unstratified split
        in_rest = Counter(labels[rest].tolist())
        moved = next(i for i in part if labels[i] == cls)
        swap = next(i for i in rest if in_rest[labels[i]] > 1)
        rest = np.append(rest[rest != swap], moved)
        part = np.append(part[part != moved], swap)
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
    Every class keeps at least one example in train. A class with fewer examples than
    there are non-empty parts (3 with validation and test, 2 with one of them) stays
    entirely in train, and a warning on the ``"embedlab"`` logger names it (the first ten
    such classes, then "and N more"): it is too small to appear in validation or test. Stratification needs every remaining class to have at
    least two members and every part to be at least as large as the number of classes;
    when that fails the split falls back to a plain random one (still keeping every class
    in train) and logs a warning, rather than failing.

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
    import numpy as np

    y = np.asarray([str(label) for label in labels], dtype=object)
    if y.size == 0:
        raise DataError("cannot split an empty data set")
    n_test = int(np.ceil(test_size * len(y)))
    n_val = int(np.ceil(val_size * len(y)))
    parts = 1 + (n_test > 0) + (n_val > 0)
    counts = Counter(y.tolist())
    small = sorted(c for c, k in counts.items() if k < parts)
    if small and parts > 1:
        shown = _first(f"'{c}' ({counts[c]})" for c in small)
        where = " and ".join(w for w, n in (("validation", n_val), ("test", n_test)) if n)
        logger.warning(
            "%d class(es) have fewer than %d examples and stay in training only, too small to "
            "appear in %s: %s", len(small), parts, where, shown,
        )
    in_small = np.isin(y, np.asarray(small, dtype=object))
    pool = np.flatnonzero(~in_small).astype(np.int64)
    rest, test = _split_once(pool, y, n_test, seed, "test")
    train, val = _split_once(rest, y, n_val, seed, "validation")
    train = np.sort(np.concatenate([train, np.flatnonzero(in_small).astype(np.int64)]))
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
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

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


# --------------------------------------------------------------------------- multi-label


def label_matrix(label_sets: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[str]]:
    """A boolean indicator matrix ``(n_rows, n_labels)`` of ``label_sets`` and its label names
    (sorted), as scikit-learn's ``MultiLabelBinarizer``."""
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer()
    y = mlb.fit_transform([list(s) for s in label_sets]).astype(bool)
    return y, [str(c) for c in mlb.classes_]


def iterative_stratification(y: np.ndarray, proportions: Sequence[float],
                             seed: int = 0) -> list[np.ndarray]:
    """Split rows of the indicator matrix ``y`` into parts of the given ``proportions`` by
    iterative stratification (Sechidis, Tsoumakas and Vlahavas, ECML PKDD 2011, algorithm 1).

    The rarest remaining label is placed first: each of its rows goes to the part that most
    lacks that label (ties: the part that most lacks rows, then at random). One change to the
    paper: a part that holds no example of the label yet comes first, so a label with as many
    examples as parts lands in every part (the paper's rule would put a 3-example label's
    first two in a 70% part). Rows with no label fill the parts that lack rows most.
    Returns one sorted ``int64`` index array per part.
    """
    import numpy as np

    y = np.asarray(y, dtype=bool)
    n, n_labels = y.shape
    r = np.asarray(proportions, dtype=np.float64)
    rng = np.random.default_rng(seed)
    want_rows: np.ndarray = np.asarray(r * n, dtype=np.float64)
    want: np.ndarray = np.outer(y.sum(0), r)  # [label, part]
    owner = np.full(n, -1, dtype=np.int64)
    left = y.copy()
    has = np.zeros((n_labels, len(r)), dtype=bool)  # label j has an example in part k
    open_parts = r > 0  # a part of proportion 0 gets no row
    remaining = left.sum(0)
    order_noise = np.asarray(rng.random(size=n))
    while remaining.any():
        counts = np.where(remaining > 0, remaining, np.iinfo(np.int64).max)
        rarest = np.flatnonzero(counts == counts.min())
        label = int(rng.choice(rarest))
        rows = np.flatnonzero(left[:, label])
        for i in rows[np.argsort(order_noise[rows])]:
            lacking = np.flatnonzero(~has[label] & open_parts)
            pool = lacking if len(lacking) else np.flatnonzero(open_parts)
            best = pool[want[label, pool] == want[label, pool].max()]
            if len(best) > 1:
                best = best[want_rows[best] == want_rows[best].max()]
            part = int(rng.choice(best)) if len(best) > 1 else int(best[0])
            owner[i] = part
            has[y[i], part] = True
            want[y[i], part] -= 1
            want_rows[part] -= 1
        left[rows] = False
        remaining = left.sum(0)
    for i in np.flatnonzero(owner < 0):
        room = np.where(open_parts, want_rows, -np.inf)
        best = np.flatnonzero(room == room.max())
        part = int(rng.choice(best))
        owner[i] = part
        want_rows[part] -= 1
    return [np.flatnonzero(owner == j).astype(np.int64) for j in range(len(r))]


def multilabel_split(
    label_sets: Sequence[Sequence[str]],
    *,
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`stratified_split` for multi-label rows: train / validation / test by
    :func:`iterative_stratification`, so rare labels keep examples in every part they can."""
    for name, value in (("val_size", val_size), ("test_size", test_size)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name} must be in [0, 1); found {value}")
    if val_size + test_size >= 1.0:
        raise ConfigError(f"val_size + test_size must be below 1; found {val_size} + {test_size}")
    if not len(label_sets):
        raise DataError("cannot split an empty data set")
    y, _ = label_matrix(label_sets)
    train, val, test = iterative_stratification(
        y, [1.0 - val_size - test_size, val_size, test_size], seed)
    return train, val, test


def multilabel_kfold(label_sets: Sequence[Sequence[str]], k: int = 10,
                     seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`kfold_splits` for multi-label rows: ``k`` folds by iterative stratification."""
    import numpy as np

    if k < 2:
        raise ConfigError(f"k must be at least 2; found {k}")
    if len(label_sets) < k:
        raise DataError(f"cannot make {k} folds from {len(label_sets)} examples; expected at "
                        f"least {k}")
    y, _ = label_matrix(label_sets)
    folds = iterative_stratification(y, [1.0 / k] * k, seed)
    every = np.arange(len(label_sets))
    return [(np.setdiff1d(every, f).astype(np.int64), f) for f in folds]
