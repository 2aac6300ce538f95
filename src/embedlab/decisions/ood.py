"""Out-of-distribution scores: is this text unlike what the model was trained on?

The score combines the model's own evidence with what the vocabulary knows:

* the **energy** ``−T·logsumexp(logits / T)`` (Liu et al. 2020): in-distribution texts get
  large logits for some class, so low energy; texts the model has no evidence for get high
  energy. (Lower energy ⇔ more in-distribution; it separated better than the max softmax
  probability in ``benchmarks/decisions.py`` on most pairs.)
* the **unknown share**: the share of a text's tokens not in the training vocabulary.

Each is turned into a p-value-like rank against the validation texts (the share of validation
texts scoring at least as high), and a text is flagged when either rank is below
``alpha / 2`` (a Bonferroni split), so about ``alpha`` of in-distribution texts are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from embedlab.errors import DataError

#: share of in-distribution (validation) texts a fitted detector flags, by default
DEFAULT_FALSE_FLAG_RATE = 0.05


def energy(logits: np.ndarray, temperature: float = 1.0, multilabel: bool = False) -> np.ndarray:
    """``−T·logsumexp(logits / T)`` per row: higher means less like the training data.
    Multi-label (independent sigmoids): the joint energy ``−Σ_labels log(1 + e^{z/T})``
    (Wang et al. 2021)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    if multilabel:
        return -temperature * np.logaddexp(0.0, z).sum(axis=1)
    return -temperature * logsumexp(z, axis=1)


def unknown_share(known: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Share of each text's tokens outside the vocabulary (0 for an empty text)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    return np.where(lengths > 0, 1.0 - np.asarray(known) / np.maximum(lengths, 1.0), 0.0)


def _upper_tail(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of ``reference`` at least as large as each value (with the +1 of conformal ranks)."""
    ref = np.sort(reference)
    above = len(ref) - np.searchsorted(ref, values, side="left")
    return (above + 1) / (len(ref) + 1)


@dataclass(frozen=True)
class OodDetector:
    """Reference scores of in-distribution (validation) texts and the flagging level."""

    energies: np.ndarray
    unknown: np.ndarray
    alpha: float = DEFAULT_FALSE_FLAG_RATE
    temperature: float = 1.0
    multilabel: bool = False

    @classmethod
    def fit(cls, logits: np.ndarray, known: np.ndarray, lengths: np.ndarray,
            alpha: float = DEFAULT_FALSE_FLAG_RATE, temperature: float = 1.0,
            multilabel: bool = False) -> OodDetector:
        if not 0.0 < alpha < 1.0:
            raise DataError(f"the false-flag rate must lie strictly between 0 and 1, found {alpha}")
        keep = np.asarray(lengths) > 0
        if keep.sum() < 20:
            raise DataError("an out-of-distribution detector needs at least 20 non-empty "
                            f"validation texts, found {int(keep.sum())}")
        return cls(energy(np.asarray(logits)[keep], temperature, multilabel),
                   unknown_share(np.asarray(known)[keep], np.asarray(lengths)[keep]),
                   alpha, temperature, multilabel)

    def score(self, logits: np.ndarray, known: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The OOD score in [0, 1] per text: 1 − the smaller of the two tail ranks (higher means
        less like the validation texts)."""
        e = _upper_tail(self.energies, energy(logits, self.temperature, self.multilabel))
        u = _upper_tail(self.unknown, unknown_share(known, lengths))
        return 1.0 - np.minimum(e, u)

    def flags(self, logits: np.ndarray, known: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """True where a text is flagged out of distribution."""
        return self.score(logits, known, lengths) > 1.0 - self.alpha / 2

    def to_dict(self) -> dict:
        """Plain data for a run directory (sorted reference scores, no pickle)."""
        return {"alpha": self.alpha, "temperature": self.temperature, "multilabel": self.multilabel,
                "energies": np.sort(self.energies).tolist(),
                "unknown": np.sort(self.unknown).tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> OodDetector:
        try:
            return cls(np.asarray(data["energies"], dtype=np.float64),
                       np.asarray(data["unknown"], dtype=np.float64),
                       float(data["alpha"]), float(data["temperature"]),
                       bool(data.get("multilabel", False)))
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"out-of-distribution reference: malformed ({e})") from None
