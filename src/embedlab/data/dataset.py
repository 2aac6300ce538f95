"""The in-memory labelled text collection every loader returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from embedlab.errors import DataError

if TYPE_CHECKING:
    import numpy as np


@dataclass
class TextDataset:
    """Texts with their class names, and where they came from.

    Parameters
    ----------
    texts:
        One string per example.
    labels:
        Class name of each text (always strings), or ``[]`` for unlabelled data
        (e.g. a file loaded for prediction with ``label_column=None``).
    source:
        File path or ``"builtin:<name>/<split>"``; used in messages.
    notes:
        Caveats about the data worth showing to a user, e.g. that a split is a
        partial copy of the official file.
    label_sets:
        Multi-label data: the set of class names of each text (sorted, at least one each);
        ``labels`` is then ``[]``. ``None`` for single-label data.

    Examples
    --------
    >>> ds = TextDataset(["good film", "bad film", "fine"], ["pos", "neg", "pos"], "demo")
    >>> len(ds), ds.class_counts()
    (3, {'neg': 1, 'pos': 2})
    >>> ds.subset([0, 2]).texts
    ['good film', 'fine']
    """

    texts: list[str]
    labels: list[str]
    source: str
    notes: list[str] = field(default_factory=list)
    label_sets: list[list[str]] | None = None

    def __post_init__(self) -> None:
        if self.label_sets is not None:
            if self.labels:
                raise DataError(f"{self.source}: give labels or label_sets, not both")
            if len(self.label_sets) != len(self.texts):
                raise DataError(
                    f"{self.source}: {len(self.texts)} texts but {len(self.label_sets)} label "
                    "sets; expected one set per text")
        if self.labels and len(self.labels) != len(self.texts):
            raise DataError(
                f"{self.source}: {len(self.texts)} texts but {len(self.labels)} labels; "
                "expected one label per text (or no labels)"
            )

    def __len__(self) -> int:
        return len(self.texts)

    def examples(self, classes: Sequence[str], per_class: int = 1,
                 max_chars: int = 300) -> list[dict[str, str]]:
        """Up to ``per_class`` texts of each class in ``classes`` (a multi-label text counts for
        each of its labels), in data order: ``[{"label": ..., "text": ...}]``. Texts of at most
        ``max_chars`` come first; a class with none gets its first texts cut at a word
        boundary before ``max_chars`` (ending in " …")."""
        picked: dict[str, list[str]] = {c: [] for c in classes}
        sets = ([[label] for label in self.labels] if self.label_sets is None
                else self.label_sets)
        for whole_only in (True, False):
            for text, labels in zip(self.texts, sets, strict=False):
                if not text.strip() or (whole_only and len(text) > max_chars):
                    continue
                shown = text if len(text) <= max_chars else (
                    (text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]) + " …")
                for label in labels:
                    if label in picked and len(picked[label]) < per_class:
                        picked[label].append(shown)
        return [{"label": c, "text": t} for c, ts in picked.items() for t in ts]

    @property
    def multilabel(self) -> bool:
        """Whether each text carries a set of class names (:attr:`label_sets`)."""
        return self.label_sets is not None

    @property
    def has_labels(self) -> bool:
        """Whether every text carries a class name (or a set of them)."""
        return bool(self.labels) or self.label_sets is not None or not self.texts

    @property
    def classes(self) -> list[str]:
        """Sorted distinct class names present in the data."""
        if self.label_sets is not None:
            return sorted({c for s in self.label_sets for c in s})
        return sorted(set(self.labels))

    def subset(self, indices: Sequence[int] | np.ndarray) -> TextDataset:
        """Return a new dataset with the examples at ``indices`` (in that order)."""
        import numpy as np

        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self.texts),):
                raise DataError(
                    f"{self.source}: boolean mask of length {idx.size} for {len(self)} texts"
                )
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).ravel()
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise DataError(
                f"{self.source}: index out of range for {len(self)} texts "
                f"(found {int(idx.min())}..{int(idx.max())})"
            )
        texts = [self.texts[i] for i in idx]
        labels = [self.labels[i] for i in idx] if self.labels else []
        sets = None if self.label_sets is None else [list(self.label_sets[i]) for i in idx]
        return TextDataset(texts, labels, self.source, list(self.notes), sets)

    def concat(self, other: TextDataset) -> TextDataset:
        """Return a new dataset with this one's examples, then ``other``'s (both labelled the
        same way: single-label, multi-label or unlabelled); this one's source and notes."""
        if not len(other) or not len(self):  # an empty part: nothing to join, no labels to compare
            kept = self if len(self) else other
            return TextDataset(list(kept.texts), list(kept.labels), self.source, list(self.notes),
                               None if kept.label_sets is None
                               else [list(s) for s in kept.label_sets])
        if self.multilabel != other.multilabel or bool(self.labels) != bool(other.labels):
            raise DataError(f"{self.source} and {other.source} are labelled differently "
                            "(single-label, multi-label or none); cannot join them")
        sets = (None if self.label_sets is None or other.label_sets is None
                else [list(s) for s in (*self.label_sets, *other.label_sets)])
        return TextDataset([*self.texts, *other.texts], [*self.labels, *other.labels],
                           self.source, list(self.notes), sets)

    def class_counts(self) -> dict[str, int]:
        """Number of texts per class name (multi-label: texts carrying it), keys sorted."""
        counts = (Counter(self.labels) if self.label_sets is None
                  else Counter(c for s in self.label_sets for c in s))
        return {label: counts[label] for label in sorted(counts)}
