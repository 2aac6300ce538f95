"""What a prediction is, and the text → prediction logic every predictor shares.

A text that preprocessing turns into zero tokens is *empty*: there is nothing to predict, so
``predict`` returns ``Prediction(label=None, probabilities={}, status="empty")`` for it and the
array methods (``predict_proba``, ``predict_labels``) raise :class:`DataError` naming it. A text
with tokens but none in the vocabulary is predicted and flagged ``status="no_known_words"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedlab.errors import DataError
from embedlab.inference.encoding import INFERENCE_BATCH, EncodedArrays, check_texts, encode_texts
from embedlab.text import LabelEncoder, Preprocessor, Vocabulary

if TYPE_CHECKING:
    from embedlab.decisions.fitted import Decisions

Status = Literal["ok", "no_known_words", "empty", "out_of_distribution", "abstained"]


@dataclass(frozen=True)
class Prediction:
    """The predicted label and the probability of every class, highest first.

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
        if self.prediction_set is not None:
            out["prediction_set"] = self.prediction_set
        if self.ood_score is not None:
            out["ood_score"] = self.ood_score
        return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


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
        plain softmax."""
        return softmax(logits) if self.decisions is None else self.decisions.probabilities(logits)

    def _scored(self, encoded: EncodedArrays, batch_size: int
                ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Probabilities and, when the run has a detector, ``(ood score, flagged)``."""
        if self.decisions is None:  # an ensemble's probabilities come from its members
            return self.probabilities(encoded, batch_size), None
        logits = self._logits(encoded, batch_size)
        ood = (None if self.decisions is None
               else self.decisions.ood_scores(logits, encoded.known, encoded.lengths))
        return self.calibrated(logits), ood

    def predict_proba(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """``(n_texts, n_classes)`` softmax probabilities, columns in ``classes`` order.

        Raises :class:`DataError` naming the texts that are empty after preprocessing.
        """
        enc = self.encode_arrays(texts)
        empty = np.flatnonzero(enc.lengths == 0)
        if len(empty):
            raise DataError(describe_empty(empty.tolist()))
        return self.probabilities(enc, batch_size)

    def predict_labels(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> list[str]:
        return self.labels.decode(self.predict_proba(texts, batch_size).argmax(1))

    def predict(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH, *,
                coverage: float | None = None,
                min_confidence: float | None = None) -> list[Prediction]:
        """One :class:`Prediction` per text (empty texts included, flagged ``"empty"``).

        ``coverage`` (strictly between 0 and 1) adds each text's conformal prediction set, which
        holds the true class that often on texts like the validation split;
        ``min_confidence`` (in [0, 1]) abstains when the top probability is below it."""
        return self.predict_encoded(self.encode_arrays(texts), batch_size, coverage=coverage,
                                    min_confidence=min_confidence)

    def set_threshold(self, coverage: float | None) -> float | None:
        """The probability a class needs to enter a ``coverage`` prediction set (None: no sets);
        a one-line error when the run has no calibration data or the coverage is out of range."""
        if coverage is None:
            return None
        from embedlab.decisions.conformal import check_coverage

        check_coverage(coverage)
        if self.decisions is None or not self.decisions.conformal_scores:
            raise DataError("prediction sets need a run calibrated on a validation split "
                            "(decisions.json); this model has none")
        return self.decisions.set_threshold(coverage)

    def predict_encoded(self, enc: EncodedArrays, batch_size: int = INFERENCE_BATCH, *,
                        coverage: float | None = None,
                        min_confidence: float | None = None) -> list[Prediction]:
        threshold = self.set_threshold(coverage)
        min_confidence = check_min_confidence(min_confidence)
        keep = np.flatnonzero(enc.lengths > 0)
        sub = enc.subset(keep)
        probs, ood = self._scored(sub, batch_size) if len(sub) else (
            np.zeros((0, len(self.classes)), dtype=np.float32), None)
        classes = self.classes
        out: list[Prediction] = [Prediction(None, {}, "empty", 0)] * len(enc)
        orders = np.argsort(-probs, axis=1, kind="stable")
        for row, i in enumerate(keep.tolist()):
            p, order = probs[row], orders[row]
            dist = {classes[j]: float(p[j]) for j in order}
            known = int(enc.known[i])
            label: str | None = classes[order[0]]
            status: Status = "ok" if known else "no_known_words"
            if known and ood is not None and ood[1][row]:  # no known word says more
                status = "out_of_distribution"
            if min_confidence is not None and p[order[0]] < min_confidence:
                label, status = None, "abstained"
            out[i] = Prediction(
                label, dist, status, known,
                None if threshold is None else [classes[j] for j in order if p[j] >= threshold],
                None if ood is None else float(ood[0][row]))
        return out


def check_min_confidence(value: float | None) -> float | None:
    """``value`` when it is None or a probability in [0, 1], else a one-line error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        from embedlab.errors import ConfigError

        raise ConfigError(f"min_confidence must be a probability in [0, 1], found {value!r}")
    return float(value)
