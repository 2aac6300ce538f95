"""What a prediction is, and the text → prediction logic every predictor shares.

A text that preprocessing turns into zero tokens is *empty*: there is nothing to predict, so
``predict`` returns ``Prediction(label=None, probabilities={}, status="empty")`` for it and the
array methods (``predict_proba``, ``predict_labels``) raise :class:`DataError` naming it. A text
with tokens but none in the vocabulary is predicted and flagged ``status="no_known_words"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from embedlab.data.tables import CHUNK_ROWS
from embedlab.errors import DataError
from embedlab.inference.encoding import INFERENCE_BATCH, EncodedArrays, check_texts, encode_texts
from embedlab.text import LabelEncoder, Preprocessor, Vocabulary

Status = Literal["ok", "no_known_words", "empty"]


@dataclass(frozen=True)
class Prediction:
    """The predicted label and the probability of every class, highest first.

    ``status`` is ``"ok"``, ``"no_known_words"`` (tokens, none in the vocabulary: the model
    still predicts) or ``"empty"`` (no tokens after preprocessing: ``label`` is ``None`` and
    ``probabilities`` is empty). ``known_words`` counts the tokens found in the vocabulary.
    """

    label: str | None
    probabilities: dict[str, float] = field(default_factory=dict)
    status: Status = "ok"
    known_words: int = 0

    @property
    def score(self) -> float | None:
        return None if self.label is None else self.probabilities[self.label]

    def top(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable classes with their probabilities."""
        return list(self.probabilities.items())[:k]

    def to_dict(self) -> dict:
        return {"label": self.label, "probabilities": self.probabilities, "status": self.status,
                "known_words": self.known_words}


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
        return softmax(self._logits(encoded, batch_size))

    def predict_proba(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """``(n_texts, n_classes)`` softmax probabilities, columns in ``classes`` order.

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
        return self.labels.decode(self.predict_proba(texts, batch_size).argmax(1))

    def predict(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> list[Prediction]:
        """One :class:`Prediction` per text (empty texts included, flagged ``"empty"``)."""
        return self.predict_encoded(self.encode_arrays(texts), batch_size)

    def predict_encoded(self, enc: EncodedArrays, batch_size: int = INFERENCE_BATCH) -> list[Prediction]:
        keep = np.flatnonzero(enc.lengths > 0)
        sub = enc.subset(keep)
        probs = self.probabilities(sub, batch_size)
        classes = self.classes
        out: list[Prediction] = [Prediction(None, {}, "empty", 0)] * len(enc)
        orders = np.argsort(-probs, axis=1, kind="stable")
        for row, i in enumerate(keep.tolist()):
            p, order = probs[row], orders[row]
            dist = {classes[j]: float(p[j]) for j in order}
            known = int(enc.known[i])
            out[i] = Prediction(classes[order[0]], dist, "ok" if known else "no_known_words", known)
        return out
