"""What a run learns on its validation split to make decisions: :class:`Decisions`.

Fitted once at the end of training (:func:`fit_decisions`) from the model's validation logits,
written to ``decisions.json`` in the run directory (plain JSON: no pickle) and applied by every
predictor kind (PyTorch, ONNX) where probabilities are shown:

* ``class_bias``: an additive per-class logit correction — fitted with the temperature for
  log-likelihood (``decisions.calibration: bcts``, the default with a validation split:
  bias-corrected temperature scaling, which corrects the class priors the model learned and
  so can change the arg-max), or chosen to maximise macro-F1 (``decisions.class_bias:
  macro_f1``, a prior correction for imbalanced classes);
* ``temperature``: temperature scaling of the (corrected) logits, fitted for log-likelihood;
* ``conformal_scores``: the sorted split-conformal scores ``1 − p(true class)`` of the
  validation texts, from which :meth:`Decisions.set_threshold` gives the threshold of any
  coverage;
* ``ood``: the reference scores of the out-of-distribution detector (:mod:`.ood`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.decisions.calibration import (
    calibration_figures,
    fit_bias_temperature,
    fit_label_temperatures,
    fit_temperature,
    multilabel_calibration_figures,
    reliability_bins,
    sigmoid_at,
    softmax_at,
)
from embedlab.decisions.conformal import check_coverage, threshold_of_scores
from embedlab.decisions.ood import OodDetector
from embedlab.errors import ArtifactError, DataError

DECISIONS_FILE = "decisions.json"
#: rounds of coordinate ascent of :func:`macro_f1_bias`
BIAS_ROUNDS = 3
#: candidate offsets (logit units) of :func:`macro_f1_bias`
BIAS_GRID = np.linspace(-3.0, 3.0, 25)


def macro_f1_bias(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-class additive logit offsets maximising macro-F1 of ``argmax(logits + bias)`` on
    ``(logits, y)``, by coordinate ascent over :data:`BIAS_GRID` (ties keep the smaller move)."""
    from sklearn.metrics import f1_score

    z = np.asarray(logits, dtype=np.float64)
    labels = list(range(z.shape[1]))
    bias = np.zeros(z.shape[1])

    def score(b: np.ndarray) -> float:
        return float(f1_score(y, (z + b).argmax(1), labels=labels, average="macro", zero_division=0))

    best = score(bias)
    for _ in range(BIAS_ROUNDS):
        moved = False
        for k in labels:
            for step in sorted(BIAS_GRID, key=abs):
                trial = bias.copy()
                trial[k] = step
                s = score(trial)
                if s > best + 1e-9:
                    best, bias, moved = s, trial, True
        if not moved:
            break
    return bias - bias.mean()


@dataclass
class Decisions:
    """A run's fitted decision settings (see the module docstring)."""

    temperature: float = 1.0
    class_bias: list[float] | None = None
    conformal_scores: list[float] = field(default_factory=list)
    ood: OodDetector | None = None
    #: calibration figures on the validation split (before / after) and its reliability bins
    figures: dict[str, Any] = field(default_factory=dict)
    #: multi-label runs: one temperature per label (sigmoid outputs); ``temperature`` unused
    label_temperatures: list[float] | None = None

    @property
    def multilabel(self) -> bool:
        return self.label_temperatures is not None

    def adjust(self, logits: np.ndarray) -> np.ndarray:
        """Logits after the class bias (if any): what the temperature then scales."""
        z = np.asarray(logits, dtype=np.float64)
        return z + np.asarray(self.class_bias) if self.class_bias is not None else z

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities of raw ``logits`` (multi-label: each label's sigmoid
        at its own temperature)."""
        if self.label_temperatures is not None:
            return sigmoid_at(logits, np.asarray(self.label_temperatures)).astype(np.float32)
        return softmax_at(self.adjust(logits), self.temperature).astype(np.float32)

    def set_threshold(self, coverage: float) -> float:
        """The probability a class needs to enter a split-conformal set of ``coverage``."""
        coverage = check_coverage(coverage)
        if self.multilabel:
            raise DataError("prediction sets with a coverage are for single-label runs; a "
                            "multi-label run answers a label set by its thresholds")
        return threshold_of_scores(self.conformal_scores, coverage, "validation texts",
                                   "this run was calibrated on")

    def ood_scores(self, logits: np.ndarray, known: np.ndarray,
                   lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``(score, flagged)`` per text, or None when the run has no detector."""
        if self.ood is None:
            return None
        z = self.adjust(logits)
        if self.label_temperatures is not None:
            z = z / np.asarray(self.label_temperatures)
        return self.ood.score(z, known, lengths), self.ood.flags(z, known, lengths)

    # ----- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": "embedlab-decisions-v1", "temperature": self.temperature,
                "class_bias": self.class_bias, "conformal_scores": self.conformal_scores,
                "ood": self.ood.to_dict() if self.ood is not None else None,
                "figures": self.figures, "label_temperatures": self.label_temperatures}

    @classmethod
    def from_dict(cls, data: Any, source: str = DECISIONS_FILE) -> Decisions:
        try:
            if not isinstance(data, dict) or data.get("format") != "embedlab-decisions-v1":
                raise ValueError("not an embedlab decisions file")
            t = float(data["temperature"])
            scores = [float(s) for s in data["conformal_scores"]]
            bias = data.get("class_bias")
            temps = data.get("label_temperatures")
            out = cls(t, None if bias is None else [float(b) for b in bias], scores,
                      None if data.get("ood") is None else OodDetector.from_dict(data["ood"]),
                      dict(data.get("figures") or {}),
                      None if temps is None else [float(x) for x in temps])
            if temps is not None and not all(math.isfinite(x) and x > 0
                                             for x in out.label_temperatures or []):
                raise ValueError("label temperatures must be finite and > 0")
        except (KeyError, TypeError, ValueError, DataError) as e:
            raise ArtifactError(f"{source}: malformed ({e})") from None
        if not (math.isfinite(t) and t > 0) or not all(map(math.isfinite, scores)) \
                or scores != sorted(scores):
            raise ArtifactError(f"{source}: malformed (temperature must be finite and > 0, the "
                                "conformal scores finite and sorted)")
        return out


def fit_multilabel_decisions(logits: np.ndarray, y: np.ndarray, known: np.ndarray,
                             lengths: np.ndarray, *, calibrate: bool = True,
                             ood_rate: float | None = 0.05) -> Decisions:
    """:class:`Decisions` of a multi-label run from validation ``logits`` and the 0/1 indicator
    matrix ``y``: one temperature per label, the calibration figures over every (text, label)
    cell, and the OOD detector on the joint energy of the labels' logits."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not len(z):
        raise DataError("decisions: the validation split is empty; nothing to calibrate on")
    temps = fit_label_temperatures(z, y) if calibrate else np.ones(z.shape[1])
    dec = Decisions(label_temperatures=temps.round(6).tolist())
    dec.figures = {"n": len(z), "before": multilabel_calibration_figures(sigmoid_at(z), y),
                   "after": multilabel_calibration_figures(sigmoid_at(z, temps), y)}
    if ood_rate is not None and int((np.asarray(lengths) > 0).sum()) >= 20:
        dec.ood = OodDetector.fit(z / temps, known, lengths, alpha=ood_rate, multilabel=True)
    return dec


def read_decisions(directory: Path, listed: set[str] | None = None,
                   n_classes: int | None = None, multilabel: bool | None = None
                   ) -> Decisions | None:
    """The :class:`Decisions` in ``directory``'s ``decisions.json`` (a run or an export), or
    None when it has none (no validation split, or written before decisions existed). With
    ``listed`` (the manifest's files, already verified) a file the manifest does not list is
    not read; with ``n_classes`` a per-class list of another length is refused, and with
    ``multilabel`` (from ``labels.json``) decisions of the other kind (per-label temperatures
    for a single-label run, or none for a multi-label one) are refused."""
    from embedlab.atomic import read_json, refuse_link

    path = Path(directory) / DECISIONS_FILE
    if (listed is not None and DECISIONS_FILE not in listed) or not path.is_file():
        return None
    dec = Decisions.from_dict(read_json(refuse_link(path), "decisions"), DECISIONS_FILE)
    for name, values in (("class_bias", dec.class_bias), ("label_temperatures", dec.label_temperatures)):
        if n_classes is not None and values is not None and len(values) != n_classes:
            raise ArtifactError(f"{DECISIONS_FILE}: malformed ({name} has {len(values)} values for "
                                f"{n_classes} classes)")
    if multilabel is not None and dec.multilabel != multilabel:
        kinds = ("multi-label", "single-label")
        raise ArtifactError(f"{DECISIONS_FILE}: malformed (a {kinds[not dec.multilabel]} run's "
                            f"decisions, but labels.json is {kinds[not multilabel]})")
    return dec


def fit_decisions(logits: np.ndarray, y: Sequence[int] | np.ndarray, known: np.ndarray,
                  lengths: np.ndarray, *, calibration: str = "bcts", class_bias: bool = False,
                  ood_rate: float | None = 0.05) -> Decisions:
    """Fit :class:`Decisions` on validation ``logits`` and classes ``y`` (``known`` / ``lengths``
    of the encoded texts for the OOD detector).

    ``calibration``: ``bcts`` fits the temperature and a logit offset per class for likelihood
    (:func:`~embedlab.decisions.calibration.fit_bias_temperature`; the offsets are kept as
    ``class_bias``, times ``T``, since the temperature divides the corrected logits),
    ``temperature`` the temperature alone, ``none`` neither. ``class_bias=True`` chooses the
    offsets for macro-F1 instead (:func:`macro_f1_bias`), then fits the temperature alone."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if not len(z):
        raise DataError("decisions: the validation split is empty; nothing to calibrate on")
    if calibration not in ("bcts", "temperature", "none"):
        raise ValueError(f"calibration must be bcts, temperature or none, found {calibration!r}")
    if class_bias:
        dec = Decisions(class_bias=macro_f1_bias(z, y).round(4).tolist())
        dec.temperature = fit_temperature(dec.adjust(z), y) if calibration != "none" else 1.0
    elif calibration == "bcts":
        t, offsets = fit_bias_temperature(z, y)
        dec = Decisions(temperature=t, class_bias=(offsets * t).round(6).tolist())
    else:
        dec = Decisions()
        dec.temperature = fit_temperature(z, y) if calibration == "temperature" else 1.0
    adjusted = dec.adjust(z)
    raw = softmax_at(z)
    probs = softmax_at(adjusted, dec.temperature)
    scores = 1.0 - probs[np.arange(len(y)), y]
    if calibration == "bcts" and not class_bias:
        scores = _cross_fitted_scores(z, y, scores)
    dec.conformal_scores = np.sort(scores).tolist()
    dec.figures = {"n": len(y), "calibration": "macro_f1 bias + temperature" if class_bias
                   else calibration,
                   "before": calibration_figures(raw, y),
                   "after": calibration_figures(probs, y),
                   "reliability_before": reliability_bins(raw, y),
                   "reliability_after": reliability_bins(probs, y)}
    if ood_rate is not None and int((np.asarray(lengths) > 0).sum()) >= 20:
        dec.ood = OodDetector.fit(adjusted, known, lengths, alpha=ood_rate,
                                  temperature=dec.temperature)
    return dec


#: bcts's conformal scores: each validation text is scored by the offsets and temperature fitted
#: on the other folds (cross-conformal); fewer rows than 2 per fold keep the in-sample scores
CONFORMAL_FOLDS = 5


def _cross_fitted_scores(z: np.ndarray, y: np.ndarray, in_sample: np.ndarray) -> np.ndarray:
    """Split-conformal scores ``1 − p(true class)`` of the validation texts under bcts, each
    text's probability from the temperature and offsets fitted without its fold.

    The C + 1 parameters of bcts are fitted on the same texts that calibrate the sets; scored
    in-sample, those texts look more certain than new ones and the sets cover less than asked
    (Ohsumed, 23 classes on 336 texts: 88.6 % for 90 %). Out-of-fold scores, as cross-conformal
    prediction (Vovk) makes them, put most of that uncertainty back (90.2 %). The sets at
    prediction time use the fit on every text, so their coverage is close to the promise, not
    guaranteed by it."""
    n = len(y)
    if n < 2 * CONFORMAL_FOLDS:
        return in_sample
    order = np.random.default_rng(0).permutation(n)
    scores = np.empty(n)
    for fold in range(CONFORMAL_FOLDS):
        held = order[fold::CONFORMAL_FOLDS]
        rest = np.setdiff1d(order, held)
        t, offsets = fit_bias_temperature(z[rest], y[rest])
        probs = softmax_at(z[held] / t + offsets)
        scores[held] = 1.0 - probs[np.arange(len(held)), y[held]]
    return scores


def decision_figures(dec: Decisions, logits: np.ndarray, y: Sequence[int] | np.ndarray) -> dict:
    """How the fitted decisions do on labelled texts: calibration before / after (with the
    reliability bins), the temperature, conformal sets at 90 % and 95 % (empirical coverage and
    mean size) and the risk–coverage curve's AURC."""
    from embedlab.decisions.conformal import risk_coverage, set_figures

    y = np.asarray(y, dtype=np.int64)
    raw, probs = softmax_at(np.asarray(logits, dtype=np.float64)), dec.probabilities(logits)
    out: dict[str, Any] = {"n": len(y), "temperature": dec.temperature,
                           "before": calibration_figures(raw, y),
                           "after": calibration_figures(probs, y),
                           "reliability_before": reliability_bins(raw, y),
                           "reliability_after": reliability_bins(probs, y), "sets": {}}
    for coverage in (0.9, 0.95):
        try:
            threshold = dec.set_threshold(coverage)
        except DataError:
            continue
        out["sets"][f"{coverage:g}"] = {"threshold": threshold,
                                        **set_figures(probs >= threshold, y)}
    out["aurc"] = risk_coverage(probs, y)["aurc"]
    return out
