"""Label encoding (class name ↔ index, saved as JSON) and class weights."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Literal

import numpy as np

from embedlab.atomic import read_json
from embedlab.errors import ArtifactError, DataError

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

    def class_weights(self, y: np.ndarray, mode: Literal["none", "balanced"] = "none") -> np.ndarray | None:
        """``balanced``: n_samples / (n_classes * count), as scikit-learn; ``none``: None."""
        if mode == "none":
            return None
        counts = np.bincount(y, minlength=len(self.classes)).astype(np.float64)
        counts[counts == 0] = 1.0
        return (len(y) / (len(self.classes) * counts)).astype(np.float32)

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
