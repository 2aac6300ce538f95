"""Label encoding (class name ↔ index, saved as JSON), class weights, oversampling, and
multi-label sets (indicator rows, per-label positive weights, a label hierarchy's parents)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from embedlab.atomic import read_json
from embedlab.errors import ArtifactError, ConfigError, DataError, suggest

FORMAT = "embedlab-labels-v1"
#: the labels of a multi-label run (a reader of single-label files refuses it, never misreads it)
MULTI_FORMAT = "embedlab-labels-multi-v1"
#: per-label positive weight of the multi-label loss: sqrt(negatives / positives), capped here
POS_WEIGHT_CAP = 10.0


def label_depths(parents: np.ndarray) -> np.ndarray:
    """Each label's depth in a hierarchy given each label's parent index (-1: top, depth 0)."""
    depth = np.zeros(len(parents), dtype=np.int64)
    for j in range(len(parents)):
        k = parents[j]
        while k >= 0:
            depth[j] += 1
            k = parents[k]
    return depth


class LabelEncoder:
    """Map class names to indices 0..C-1 in a fixed order.

    ``multilabel``: each text carries a set of the classes (one sigmoid per class);
    ``hierarchy``: the separator of a label's levels (``LOC:city`` is a child of ``LOC``).
    """

    def __init__(self, classes: Sequence[str], multilabel: bool = False,
                 hierarchy: str | None = None) -> None:
        self.classes: list[str] = [str(c) for c in classes]
        if len(set(self.classes)) != len(self.classes):
            raise DataError(f"duplicate class names in {self.classes}")
        self.index = {c: i for i, c in enumerate(self.classes)}
        self.multilabel = bool(multilabel or hierarchy)
        self.hierarchy = hierarchy

    @classmethod
    def fit_sets(cls, label_sets: Sequence[Sequence[str]], order: Sequence[str] | None = None,
                 source: str = "training data", hierarchy: str | None = None) -> LabelEncoder:
        """A multi-label encoder: the classes of ``label_sets`` (in ``order`` when given)."""
        seen = {str(c) for s in label_sets for c in s}
        if len(seen) < 2:
            found = f"only '{next(iter(seen))}'" if seen else "none"
            raise DataError(f"{source}: expected at least 2 labels to train a multi-label "
                            f"classifier, found {found}")
        front = [c for c in order if c in seen] if order is not None else []
        return cls(front + sorted(seen - set(front)), multilabel=True, hierarchy=hierarchy)

    def encode_sets(self, label_sets: Sequence[Sequence[str]], source: str = "labels"
                    ) -> np.ndarray:
        """``(n_rows, n_classes)`` float32 indicator rows; an unseen label is an error."""
        out = np.zeros((len(label_sets), len(self.classes)), dtype=np.float32)
        for i, labels in enumerate(label_sets):
            for lab in labels:
                j = self.index.get(str(lab))
                if j is None:
                    raise DataError(f"{source}: row {i + 1}: label '{lab}' was never seen in "
                                    f"training; the model knows {self.classes}")
                out[i, j] = 1.0
        return out

    def decode_sets(self, mask: np.ndarray) -> list[list[str]]:
        """The label names of each boolean indicator row."""
        return [[self.classes[j] for j in np.flatnonzero(row)] for row in np.asarray(mask)]

    def pos_weights(self, y: np.ndarray, cap: float = POS_WEIGHT_CAP) -> np.ndarray:
        """Per-label positive weight of the binary cross-entropy: ``sqrt(negatives /
        positives)`` clipped to ``[1, cap]``, so rare labels weigh more without drowning
        precision (a label with no positive gets ``cap``)."""
        pos = np.asarray(y, dtype=np.float64).sum(0)
        ratio = (len(y) - pos) / np.maximum(pos, 1e-9)
        return np.clip(np.sqrt(ratio), 1.0, cap).astype(np.float32)

    def parents(self) -> np.ndarray:
        """Each class's parent index under :attr:`hierarchy` (-1 for a top-level label)."""
        out = np.full(len(self.classes), -1, dtype=np.int64)
        if self.hierarchy:
            for i, c in enumerate(self.classes):
                if self.hierarchy in c:
                    out[i] = self.index.get(c.rsplit(self.hierarchy, 1)[0], -1)
        return out

    @classmethod
    def fit(cls, labels: Sequence[str], order: Sequence[str] | None = None,
            source: str = "training data") -> LabelEncoder:
        """Classes in ``order`` when given (a dataset's documented order), else sorted."""
        seen = set(map(str, labels))
        if len(seen) < 2:
            found = f"only '{next(iter(seen))}'" if seen else "none"
            raise DataError(f"{source}: expected at least 2 classes to train a classifier, found {found}")
        if order is not None:
            classes = [c for c in order if c in seen] + sorted(seen - set(order))
        else:
            classes = sorted(seen)
        return cls(classes)

    def __len__(self) -> int:
        return len(self.classes)

    def encode(self, labels: Sequence[str], source: str = "labels") -> np.ndarray:
        """Indices; a label the encoder never saw is an error naming it and its row."""
        out = np.empty(len(labels), dtype=np.int64)
        for i, lab in enumerate(labels):
            j = self.index.get(str(lab))
            if j is None:
                raise DataError(
                    f"{source}: row {i + 1}: label '{lab}' was never seen in training; "
                    f"the model knows {self.classes}"
                )
            out[i] = j
        return out

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.classes[int(i)] for i in ids]

    def class_weights(self, y: np.ndarray,
                      mode: Literal["none", "balanced"] | Mapping[str, float] = "none") -> np.ndarray | None:
        """``balanced``: n_samples / (n_classes * count), as scikit-learn; ``none``: None; a
        mapping: its weight per class name (1 for classes it leaves out; a name that is not a
        class is a one-line :class:`ConfigError`)."""
        if isinstance(mode, Mapping):
            unknown = [name for name in mode if name not in self.classes]
            if unknown:
                raise ConfigError(f"training.class_weights: '{unknown[0]}' is not a class"
                                  f"{suggest(unknown[0], self.classes)}; classes: "
                                  f"{', '.join(self.classes[:20])}")
            return np.array([float(mode.get(c, 1.0)) for c in self.classes], dtype=np.float32)
        if mode == "none":
            return None
        counts = np.bincount(y, minlength=len(self.classes)).astype(np.float64)
        counts[counts == 0] = 1.0
        return (len(y) / (len(self.classes) * counts)).astype(np.float32)

    def oversampled(self, y: np.ndarray, seed: int) -> np.ndarray:
        """Row indices that resample every class (with replacement, seeded) up to the largest
        class's count: each row once, then random repeats of its class's rows."""
        rng = np.random.default_rng(seed)
        counts = np.bincount(y, minlength=len(self.classes))
        top = int(counts.max())
        rows = [np.arange(len(y))]
        for k, c in enumerate(counts):
            if 0 < c < top:
                rows.append(rng.choice(np.flatnonzero(y == k), top - int(c), replace=True))
        return np.concatenate(rows)

    def counts(self, y: np.ndarray) -> dict[str, int]:
        c = Counter(int(i) for i in y)
        return {name: c.get(i, 0) for i, name in enumerate(self.classes)}

    def save(self, path) -> None:
        data: dict = {"format": FORMAT, "classes": self.classes}
        if self.multilabel:
            data = {"format": MULTI_FORMAT, "classes": self.classes, "hierarchy": self.hierarchy}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path) -> LabelEncoder:
        data = read_json(path, "labels")
        if data.get("format") == MULTI_FORMAT:
            hierarchy = data.get("hierarchy")
            if hierarchy is not None and not (isinstance(hierarchy, str) and hierarchy):
                raise ArtifactError(f"{path}: 'hierarchy' must be a separator or null")
            return cls(data["classes"], multilabel=True, hierarchy=hierarchy)
        if data.get("format") != FORMAT:
            raise ArtifactError(f"{path}: expected format '{FORMAT}', found {data.get('format')!r}")
        return cls(data["classes"])
