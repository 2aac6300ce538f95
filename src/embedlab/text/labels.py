"""Label encoding (class name ↔ index, saved as JSON), class weights and oversampling."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from embedlab.atomic import read_json
from embedlab.errors import ArtifactError, ConfigError, DataError, suggest

FORMAT = "embedlab-labels-v1"


class LabelEncoder:
    """Map class names to indices 0..C-1 in a fixed order."""

    def __init__(self, classes: Sequence[str]) -> None:
        self.classes: list[str] = [str(c) for c in classes]
        if len(set(self.classes)) != len(self.classes):
            raise DataError(f"duplicate class names in {self.classes}")
        self.index = {c: i for i, c in enumerate(self.classes)}

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
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "classes": self.classes}, f, ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path) -> LabelEncoder:
        data = read_json(path, "labels")
        if data.get("format") != FORMAT:
            raise ArtifactError(f"{path}: expected format '{FORMAT}', found {data.get('format')!r}")
        return cls(data["classes"])
