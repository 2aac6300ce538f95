"""What a prediction is, and the text → prediction logic every predictor shares.

A text that preprocessing turns into zero tokens is *empty*: there is nothing to predict, so
``predict`` returns ``Prediction(label=None, probabilities={}, status="empty")`` for it and the
array methods (``predict_proba``, ``predict_labels``) raise :class:`DataError` naming it. A text
with tokens but none in the vocabulary is predicted and flagged ``status="no_known_words"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedlab.data.tables import CHUNK_ROWS
from embedlab.decisions.calibration import sigmoid_at, softmax_at
from embedlab.errors import ArtifactError, ConfigError, DataError
from embedlab.inference.encoding import INFERENCE_BATCH, EncodedArrays, check_texts, encode_texts
from embedlab.text import LabelEncoder, Preprocessor, Vocabulary
from embedlab.text.labels import label_depths

if TYPE_CHECKING:
    from embedlab.decisions.fitted import Decisions

Status = Literal["ok", "no_known_words", "empty", "out_of_distribution", "abstained"]


@dataclass(frozen=True)
class Prediction:
    """The predicted label and the probability of every class, highest first.

    Multi-label: ``labels`` is the predicted label set (every label whose probability reaches
    its threshold, at least the most probable one; under a label hierarchy each label's parent
    too), ``label`` the most probable of them, and ``probabilities`` every label's own sigmoid
    probability (they do not sum to 1). ``labels`` is ``None`` for single-label models.

    ``status`` is ``"ok"``, ``"no_known_words"`` (tokens, none in the vocabulary: the model
    still predicts), ``"empty"`` (no tokens after preprocessing: ``label`` is ``None`` and
    ``probabilities`` is empty), ``"out_of_distribution"`` (unlike the training texts: ``label``
    is the model's guess) or ``"abstained"`` (the top probability is below the asked
    ``min_confidence``: ``label`` is ``None``). ``known_words`` counts the tokens found in the
    vocabulary. ``prediction_set`` is the conformal set when a coverage was asked (possibly
    empty: none of the classes is plausible enough), ``ood_score`` the out-of-distribution
    score in [0, 1] when the run has a detector.
    """

    label: str | None
    probabilities: dict[str, float] = field(default_factory=dict)
    status: Status = "ok"
    known_words: int = 0
    labels: tuple[str, ...] | None = None
    prediction_set: list[str] | None = None
    ood_score: float | None = None

    @property
    def score(self) -> float | None:
        return None if self.label is None else self.probabilities[self.label]

    def top(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable classes with their probabilities."""
        return list(self.probabilities.items())[:k]

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"label": self.label, "probabilities": self.probabilities,
                               "status": self.status, "known_words": self.known_words}
        if self.labels is not None:
            out["labels"] = list(self.labels)
        if self.prediction_set is not None:
            out["prediction_set"] = self.prediction_set
        if self.ood_score is not None:
            out["ood_score"] = self.ood_score
        return out


THRESHOLDS_FILE = "thresholds.json"
THRESHOLDS_FORMAT = "embedlab-thresholds-v1"


@dataclass(frozen=True)
class Thresholds:
    """A multi-label run's decision thresholds, chosen on the validation split
    (:func:`embedlab.training.thresholds.choose_thresholds`) and saved as ``thresholds.json``.

    ``global_threshold`` is one threshold for every label, ``per_label`` one per label;
    ``use`` says which the run predicts with (the one that scored higher on validation by
    ``metric``: ``micro_f1`` or ``macro_f1``); ``scores`` holds both validation scores.
    """

    global_threshold: float
    per_label: dict[str, float]
    use: Literal["global", "per_label"] = "global"
    metric: str = "micro_f1"
    scores: dict[str, float] = field(default_factory=dict)

    def mapping(self, classes: Sequence[str]) -> dict[str, float]:
        """Each class's threshold, the one :attr:`use` names."""
        if self.use == "global":
            return dict.fromkeys(classes, self.global_threshold)
        return {c: self.per_label.get(c, self.global_threshold) for c in classes}

    def vector(self, classes: Sequence[str]) -> np.ndarray:
        """The threshold of each class, in ``classes`` order."""
        return np.asarray(list(self.mapping(classes).values()), dtype=np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"format": THRESHOLDS_FORMAT, "use": self.use, "metric": self.metric,
                "global": self.global_threshold, "per_label": self.per_label,
                "validation_scores": self.scores}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False),
                              encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Thresholds:
        from embedlab.atomic import read_json, refuse_link

        return cls.from_dict(read_json(refuse_link(path), "thresholds"), str(path))

    @classmethod
    def read(cls, directory: str | Path, listed: set[str] | None = None) -> Thresholds:
        """A multi-label run's or export's ``thresholds.json``: required, never read through a
        link, and with ``listed`` (the manifest's verified files) only when the manifest lists
        it."""
        path = Path(directory) / THRESHOLDS_FILE
        if not path.is_file() and not path.is_symlink():
            raise ArtifactError(f"{THRESHOLDS_FILE} is missing: a multi-label model needs its "
                                "thresholds")
        if listed is not None and THRESHOLDS_FILE not in listed:
            raise ArtifactError(f"{THRESHOLDS_FILE} is not listed in manifest.json")
        return cls.load(path)

    @classmethod
    def from_dict(cls, data: Any, source: str = "thresholds") -> Thresholds:
        """Thresholds from :meth:`to_dict`'s shape; anything else is one :class:`ArtifactError`."""
        if not isinstance(data, dict) or data.get("format") != THRESHOLDS_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ArtifactError(f"{source}: expected format '{THRESHOLDS_FORMAT}', found {found!r}")
        per_label = data.get("per_label")
        scores = data.get("validation_scores") or {}
        if not isinstance(per_label, dict) or not isinstance(scores, dict):
            raise ArtifactError(f"{source}: 'per_label' and 'validation_scores' must be mappings")
        values = [data.get("global"), *per_label.values()]
        if not all(isinstance(v, int | float) and 0.0 <= v <= 1.0 for v in values):
            raise ArtifactError(f"{source}: every threshold must be a number in [0, 1]")
        if data.get("use") not in ("global", "per_label"):
            raise ArtifactError(f"{source}: 'use' must be 'global' or 'per_label'")
        return cls(float(data["global"]), {str(k): float(v) for k, v in data["per_label"].items()},
                   data["use"], str(data.get("metric", "micro_f1")),
                   dict(scores))


def check_threshold(threshold: float | None, top_k: int | None) -> None:
    """A threshold outside [0, 1] or a ``top_k`` below 1 is a one-line :class:`ConfigError`."""
    if threshold is not None and not (isinstance(threshold, int | float)
                                      and 0.0 <= float(threshold) <= 1.0):
        raise ConfigError(f"threshold must be in [0, 1]; found {threshold}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ConfigError(f"top_k must be a whole number of at least 1; found {top_k}")


def decide_sets(probs: np.ndarray, thresholds: np.ndarray | float, *, top_k: int | None = None,
                parents: np.ndarray | None = None, backoff: bool = True) -> np.ndarray:
    """Boolean label sets from per-label probabilities ``(n, C)``.

    A label is in a row's set when its probability reaches its threshold; the most probable
    label always is (every training row carries one). ``top_k`` keeps at most the ``k`` most
    probable of those. ``parents`` (a hierarchy: each label's parent index, -1 at the top)
    then makes the sets consistent: a child brings its parent (so a set may name more than
    ``top_k`` labels: the k chosen and their ancestors), and without ``backoff`` a predicted
    parent with no child above threshold also gets its most probable child; with ``backoff``
    (the default) such a row answers the parent alone rather than a doubtful child.
    """
    probs = np.asarray(probs, dtype=np.float32)
    n = len(probs)
    chosen = probs >= np.asarray(thresholds, dtype=np.float32)
    if n and probs.shape[1]:
        chosen[np.arange(n), probs.argmax(1)] = True
    if top_k is not None:
        keep = np.zeros_like(chosen)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
        np.put_along_axis(keep, order, True, axis=1)
        chosen &= keep
    if parents is not None and (parents >= 0).any():
        chosen = _close_hierarchy(chosen, probs, parents, backoff)
    return chosen


def _close_hierarchy(chosen: np.ndarray, probs: np.ndarray, parents: np.ndarray,
                     backoff: bool) -> np.ndarray:
    chosen = chosen.copy()
    depth = label_depths(parents)
    for j in np.argsort(-depth, kind="stable"):  # deepest first: ancestors come along
        if parents[j] >= 0:
            chosen[chosen[:, j], parents[j]] = True
    if not backoff:
        for j in np.argsort(depth, kind="stable"):  # top down: fill in the missing children
            kids = np.flatnonzero(parents == j)
            if not len(kids):
                continue
            lacking = chosen[:, j] & ~chosen[:, kids].any(1)
            best = kids[probs[:, kids].argmax(1)]
            rows = np.flatnonzero(lacking)
            chosen[rows, best[rows]] = True
    return chosen


def describe_empty(indices: Sequence[int]) -> str:
    shown = ", ".join(map(str, indices[:10])) + (" ..." if len(indices) > 10 else "")
    word = "text" if len(indices) == 1 else "texts"
    return (f"{word} {shown} (0-based) {'is' if len(indices) == 1 else 'are'} empty after "
            "preprocessing: nothing to predict")


class TextPredictor:
    """Preprocessing + vocabulary + labels around a forward function (PyTorch or ONNX).

    Subclasses implement :meth:`_logits` (encoded rows → logits in row order), or override
    :meth:`probabilities` when they do not come from one set of logits (an ensemble).
    """

    preprocessor: Preprocessor
    vocab: Vocabulary
    labels: LabelEncoder
    #: what the run fitted on its validation split (calibration, conformal sets, OOD); None
    #: for a run without one (raw softmax, no sets, no flags)
    decisions: Decisions | None = None

    #: columns every batch is padded to at least (an exported graph may need some)
    min_length: int = 1
    #: a multi-label model's decision thresholds (chosen on validation), else None
    thresholds: Thresholds | None = None

    @property
    def multilabel(self) -> bool:
        """Whether each text gets a set of labels (one sigmoid per label)."""
        return bool(getattr(self.labels, "multilabel", False))

    def decide(self, probs: np.ndarray, threshold: float | None = None, top_k: int | None = None,
               backoff: bool = True) -> np.ndarray:
        """Boolean label sets of multi-label probabilities (:func:`decide_sets`): the run's
        thresholds, or one ``threshold`` for every label; ``top_k`` keeps at most k labels."""
        check_threshold(threshold, top_k)
        cut = np.asarray(list(self.label_thresholds(threshold).values()), dtype=np.float32)
        parents = self.labels.parents() if self.labels.hierarchy else None
        return decide_sets(probs, cut, top_k=top_k, parents=parents, backoff=backoff)

    def label_thresholds(self, threshold: float | None = None) -> dict[str, float]:
        """The threshold each label needs to enter a multi-label set, in class order: one
        ``threshold`` for all, else the run's (``thresholds.json``), else 0.5."""
        if threshold is not None:
            return dict.fromkeys(self.classes, float(threshold))
        if self.thresholds is not None:
            return self.thresholds.mapping(self.classes)
        return dict.fromkeys(self.classes, 0.5)

    @property
    def classes(self) -> list[str]:
        return list(self.labels.classes)

    @property
    def fixed_length(self) -> int | None:
        return None

    def encode_arrays(self, texts: Sequence[str]) -> EncodedArrays:
        """Preprocess and encode raw texts the way the model was trained."""
        return encode_texts(self.preprocessor, self.vocab, check_texts(texts), self.fixed_length)

    def _logits(self, enc: EncodedArrays, batch_size: int) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, encoded: EncodedArrays,
                      batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """``(n_texts, n_classes)`` class probabilities (columns in ``classes`` order) of texts
        already encoded by :meth:`encode_arrays`, in row order. Every row is scored, empty
        texts included (the model's output for no tokens): callers that must not predict them
        (``predict``, batch files) drop them first; evaluation scores them as the model would."""
        if not len(encoded):
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return self.calibrated(self._logits(encoded, batch_size))

    def logits(self, encoded: EncodedArrays, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """Raw (uncalibrated) logits of texts encoded by :meth:`encode_arrays`, in row order."""
        return self._logits(encoded, batch_size)

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        """Class probabilities of raw logits: calibrated when the run fitted decisions, else the
        plain softmax (multi-label: each label's sigmoid)."""
        if self.decisions is not None:
            return self.decisions.probabilities(logits)
        return (sigmoid_at(logits) if self.multilabel else softmax_at(logits)).astype(np.float32)

    def _scored(self, encoded: EncodedArrays, batch_size: int
                ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Probabilities and, when the run has a detector, ``(ood score, flagged)``."""
        if self.decisions is None:  # an ensemble's probabilities come from its members
            return self.probabilities(encoded, batch_size), None
        logits = self._logits(encoded, batch_size)
        return self.calibrated(logits), self.decisions.ood_scores(logits, encoded.known,
                                                                  encoded.lengths)

    def predict_proba(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """``(n_texts, n_classes)`` class probabilities, columns in ``classes`` order: the
        softmax (multi-label: each label's sigmoid) of the logits; when the run has ``decisions.json``,
        after what it fitted on its validation split (the class bias, if any, then the
        temperature; multi-label: each label's temperature).

        Raises :class:`DataError` naming the texts that are empty after preprocessing. Texts
        are encoded and scored :data:`~embedlab.data.tables.CHUNK_ROWS` at a time (as
        ``predict --file`` reads them), so beyond the result itself memory does not grow with
        the number of texts.
        """
        texts = check_texts(texts)
        if len(texts) <= CHUNK_ROWS:
            return self._proba_chunk(texts, 0, batch_size)
        out: np.ndarray | None = None
        for start in range(0, len(texts), CHUNK_ROWS):
            probs = self._proba_chunk(texts[start : start + CHUNK_ROWS], start, batch_size)
            if out is None:
                out = np.empty((len(texts), probs.shape[1]), dtype=probs.dtype)
            out[start : start + len(probs)] = probs
        assert out is not None
        return out

    def _proba_chunk(self, texts: list[str], start: int, batch_size: int) -> np.ndarray:
        enc = self.encode_arrays(texts)
        empty = np.flatnonzero(enc.lengths == 0)
        if len(empty):
            raise DataError(describe_empty((empty + start).tolist()))
        return self.probabilities(enc, batch_size)

    def predict_labels(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> list[str]:
        """The most probable label of each text (multi-label: see :meth:`predict_label_sets`)."""
        return self.labels.decode(self.predict_proba(texts, batch_size).argmax(1))

    def predict_label_sets(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH, *,
                           threshold: float | None = None, top_k: int | None = None
                           ) -> list[list[str]]:
        """Each text's label set (multi-label; a single-label model gives one label each)."""
        probs = self.predict_proba(texts, batch_size)
        if not self.multilabel:
            return [[c] for c in self.labels.decode(probs.argmax(1))]
        return self.labels.decode_sets(self.decide(probs, threshold, top_k))

    def predict(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH, *,
                threshold: float | None = None, top_k: int | None = None,
                coverage: float | None = None,
                min_confidence: float | None = None) -> list[Prediction]:
        """One :class:`Prediction` per text (empty texts included, flagged ``"empty"``).

        ``threshold`` / ``top_k`` override a multi-label run's thresholds. ``coverage``
        (strictly between 0 and 1) adds each text's conformal prediction set, which holds the
        true class that often on texts like the validation split (single-label runs);
        ``min_confidence`` (in [0, 1]) abstains when the top probability is below it."""
        return self.predict_encoded(self.encode_arrays(texts), batch_size, threshold=threshold,
                                    top_k=top_k, coverage=coverage, min_confidence=min_confidence)
    def set_threshold(self, coverage: float | None) -> float | None:
        """The probability a class needs to enter a ``coverage`` prediction set (None: no sets);
        a one-line error when the run has no calibration data or the coverage is out of range."""
        if coverage is None:
            return None
        from embedlab.decisions.conformal import check_coverage

        check_coverage(coverage)
        if self.multilabel:
            raise DataError("prediction sets with a coverage are for single-label runs; a "
                            "multi-label run answers a label set by its thresholds")
        if self.decisions is None or not self.decisions.conformal_scores:
            raise DataError("prediction sets need a run calibrated on a validation split "
                            "(decisions.json); this model has none (an ensemble has them only "
                            "when bagged: train --ensemble --bag-folds)")
        return self.decisions.set_threshold(coverage)

    def predict_encoded(self, enc: EncodedArrays, batch_size: int = INFERENCE_BATCH, *,
                        threshold: float | None = None, top_k: int | None = None,
                        coverage: float | None = None,
                        min_confidence: float | None = None) -> list[Prediction]:
        check_threshold(threshold, top_k)
        set_cut = self.set_threshold(coverage)
        min_confidence = check_min_confidence(min_confidence)
        keep = np.flatnonzero(enc.lengths > 0)
        sub = enc.subset(keep)
        probs, ood = self._scored(sub, batch_size) if len(sub) else (
            np.zeros((0, len(self.classes)), dtype=np.float32), None)
        classes = self.classes
        out: list[Prediction] = [Prediction(None, {}, "empty", 0)] * len(enc)
        orders = np.argsort(-probs, axis=1, kind="stable")
        sets = self.decide(probs, threshold, top_k) if self.multilabel else None
        for row, i in enumerate(keep.tolist()):
            p, order = probs[row], orders[row]
            dist = {classes[j]: float(p[j]) for j in order}
            known = int(enc.known[i])
            chosen = (None if sets is None
                      else tuple(classes[j] for j in order if sets[row, j]))
            label: str | None = classes[order[0]]
            status: Status = "ok" if known else "no_known_words"
            if known and ood is not None and ood[1][row]:  # no known word says more
                status = "out_of_distribution"
            if min_confidence is not None and p[order[0]] < min_confidence:
                label, status = None, "abstained"
                chosen = None if chosen is None else ()  # abstaining names no label set either
            out[i] = Prediction(
                label, dist, status, known, labels=chosen,
                prediction_set=(None if set_cut is None
                                else [classes[j] for j in order if p[j] >= set_cut]),
                ood_score=None if ood is None else float(ood[0][row]))
        return out


def check_min_confidence(value: float | None) -> float | None:
    """``value`` when it is None or a probability in [0, 1], else a one-line error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        from embedlab.errors import ConfigError

        raise ConfigError(f"min_confidence must be a probability in [0, 1], found {value!r}")
    return float(value)
