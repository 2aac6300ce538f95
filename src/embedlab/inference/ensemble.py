"""Ensembles: the weighted mean of several trained runs' class probabilities (soft voting).

An ensemble directory is self-contained: ``ensemble.json`` names its members and their weights,
``members/<i>-<model>/`` holds a copy of each member's run directory (with the run's own
manifest), and ``manifest.json`` (kind :data:`embedlab.kinds.ENSEMBLE_KIND`) lists every other file with its
sha256. Loading verifies all of them and executes no pickle, as for a run.

Members must predict the same set of classes (in any order; the ensemble uses the first
member's order); each keeps its own preprocessing and vocabulary. A text is *empty* for the
ensemble when it is empty for every member; otherwise the members for which it has tokens
are averaged (their weights renormalised), and ``known_words`` is the largest member count.

Explanations, serving and ONNX export take a single run: they refuse an ensemble with one line.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.atomic import MANIFEST, artifact_kind, atomic_dir, listed_file_problem, refuse_link
from embedlab.errors import ArtifactError, ConfigError, EmbedlabError
from embedlab.inference.encoding import INFERENCE_BATCH, EncodedArrays, check_texts
from embedlab.inference.prediction import TextPredictor, Thresholds
from embedlab.kinds import ENSEMBLE_FORMAT as FORMAT
from embedlab.kinds import ENSEMBLE_KIND as KIND

if TYPE_CHECKING:
    from embedlab.config import RunConfig
    from embedlab.data import TextDataset
    from embedlab.inference.predictor import Predictor

SPEC = "ensemble.json"
COMBINE = "weighted mean of probabilities"


@dataclass
class EnsembleEncoded(EncodedArrays):
    """Every member's encoding of the same texts; ``lengths`` and ``known`` are the largest
    over the members (``flat`` is empty and ``starts`` zero: each member keeps its own ids)."""

    members: tuple[EncodedArrays, ...] = ()

    def subset(self, rows: np.ndarray) -> EnsembleEncoded:
        return EnsembleEncoded(self.flat, self.starts[rows], self.lengths[rows], self.known[rows],
                               tuple(m.subset(rows) for m in self.members))


def _mean_thresholds(members: Sequence[Predictor], classes: list[str],
                     weights: np.ndarray) -> Thresholds:
    """Multi-label members: each label's threshold is the weighted mean of the members'
    thresholds for it: the ensemble's thresholds until :func:`rechoose_thresholds` chooses
    them on validation (which :func:`make_ensemble` does)."""
    cuts = np.zeros(len(classes), dtype=np.float64)
    for m, w in zip(members, weights, strict=True):
        own = m.thresholds.mapping(classes) if m.thresholds is not None else dict.fromkeys(
            classes, 0.5)
        cuts += w * np.asarray([own[c] for c in classes])
    per_label = {c: float(round(v, 4)) for c, v in zip(classes, cuts, strict=True)}
    return Thresholds(float(round(float(cuts.mean()), 4)), per_label, "per_label",
                      "members' mean")


class EnsemblePredictor(TextPredictor):
    """Soft voting over member predictors (see the module docstring).

    ``predict``, ``predict_proba``, ``predict_labels``, batch prediction of files and
    evaluation work as for one run. ``config`` is the first member's (``embedlab evaluate``
    defaults to its data set).
    """

    def __init__(self, members: Sequence[Predictor], weights: Sequence[float] | None = None,
                 names: Sequence[str] | None = None) -> None:
        members = list(members)
        if len(members) < 2:
            raise ConfigError(f"an ensemble needs at least two members, found {len(members)}")
        weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(members):
            raise ConfigError(f"{len(weights)} weights for {len(members)} members: give one "
                              "weight per member")
        if not all(np.isfinite(w) and w > 0 for w in weights):
            raise ConfigError(f"ensemble weights must be positive numbers, found {weights}")
        _refuse_repeats(members)
        kinds = {bool(m.multilabel) for m in members}
        if len(kinds) > 1:
            raise ConfigError("members mix multi-label and single-label runs: an ensemble "
                              "averages one kind of probability")
        self.members = members
        self.weights = np.asarray(weights, dtype=np.float64) / sum(weights)
        self.names = list(names) if names is not None else [
            f"{i}-{member_model_name(m)}" for i, m in enumerate(members, 1)]
        self.labels = members[0].labels
        first = self.classes
        self._columns: list[np.ndarray] = []
        for name, m in zip(self.names, members):
            if sorted(m.classes) != sorted(first):
                raise ConfigError(f"member {name} predicts {sorted(m.classes)}; the ensemble's "
                                  f"first member predicts {sorted(first)}: members must share "
                                  "their classes")
            self._columns.append(np.asarray([m.classes.index(c) for c in first]))
        if self.multilabel:
            self.thresholds = _mean_thresholds(members, first, self.weights)
        #: sorted split-conformal scores ``1 − p(true class)`` of texts the ensemble's runs did
        #: not train on (a bagged recipe's out-of-fold texts), else None: no prediction sets
        self.conformal_scores: list[float] | None = None
        self.path: Path | None = None

    @property
    def config(self) -> RunConfig:
        return self.members[0].config

    def encode_arrays(self, texts: Sequence[str]) -> EnsembleEncoded:
        texts = check_texts(texts)
        encs = tuple(m.encode_arrays(texts) for m in self.members)
        lengths = np.max([e.lengths for e in encs], axis=0)
        known = np.max([e.known for e in encs], axis=0)
        return EnsembleEncoded(np.zeros(0, dtype=np.int32), np.zeros(len(texts), dtype=np.int64),
                               lengths, known, encs)

    def probabilities(self, encoded: EncodedArrays,
                      batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """The weighted mean of the members' class probabilities of texts encoded by
        :meth:`encode_arrays` (every row scored; see the module docstring for empty texts)."""
        enc = encoded
        if not isinstance(enc, EnsembleEncoded):
            raise TypeError("an ensemble scores its own encoding (EnsemblePredictor.encode_arrays)")
        n = len(enc)
        total = np.zeros((n, len(self.classes)), dtype=np.float64)
        weight = np.zeros(n, dtype=np.float64)
        nobody = enc.lengths == 0  # rows empty for every member: every member's no-token output
        for member, w, columns, menc in zip(self.members, self.weights, self._columns, enc.members):
            rows = np.flatnonzero((menc.lengths > 0) | nobody)
            if len(rows):
                probs = member.probabilities(menc.subset(rows), batch_size)
                total[rows] += w * probs[:, columns]
                weight[rows] += w
        return (total / np.maximum(weight, 1e-12)[:, None]).astype(np.float32)

    def set_threshold(self, coverage: float | None) -> float | None:
        """The probability a class needs to enter a ``coverage`` prediction set: from the
        out-of-fold conformal scores of a bagged recipe (each text scored by the runs that held
        it out, while the ensemble averages all of them: the sets cover near ``coverage``, not
        with split conformal's guarantee); any other ensemble refuses in one line."""
        if coverage is None or self.multilabel or not self.conformal_scores:
            return super().set_threshold(coverage)
        from embedlab.decisions.conformal import threshold_of_scores

        return threshold_of_scores(self.conformal_scores, coverage, "out-of-fold texts",
                                   "this bagged ensemble was scored on")

    def member_probabilities(self, index: int, texts: Sequence[str]) -> np.ndarray:
        """Member ``index``'s class probabilities of ``texts``, in the ensemble's class order;
        every text is scored, one with no token for the member by its no-token output (as
        :meth:`probabilities` scores a text empty for every member)."""
        member = self.members[index]
        return member.probabilities(member.encode_arrays(texts))[:, self._columns[index]]

    # ----- persistence -------------------------------------------------------------------
    @classmethod
    def load(cls, directory: str | Path) -> EnsemblePredictor:
        """Load an ensemble directory: its manifest and every member run are verified."""
        from embedlab.inference.predictor import Predictor

        d = Path(directory)
        spec = verify_ensemble(d)
        try:
            entries = spec["members"]
            members = [Predictor.load(d / e["dir"]) for e in entries]
            weights = [e["weight"] for e in entries]
            names = [Path(e["dir"]).name for e in entries]
        except (KeyError, TypeError) as e:
            raise ArtifactError(f"{d}: this ensemble directory is damaged: {SPEC} lacks a field "
                                f"({e})") from None
        out = cls(members, weights, names)
        if out.multilabel and spec.get("thresholds") is not None:  # chosen on validation
            out.thresholds = Thresholds.from_dict(spec["thresholds"], f"{d / SPEC}: thresholds")
        scores = spec.get("conformal_scores")
        if scores is not None:  # a bagged recipe's out-of-fold scores
            if (out.multilabel or not isinstance(scores, list) or not scores
                    or not all(isinstance(x, (int, float)) and 0.0 <= x <= 1.0 for x in scores)
                    or any(a > b for a, b in zip(scores, scores[1:]))):
                raise ArtifactError(f"{d / SPEC}: conformal_scores must be a non-empty sorted "
                                    "list of numbers in [0, 1] (single-label only)")
            out.conformal_scores = [float(x) for x in scores]
        out.path = d
        return out

    def save(self, out: str | Path, overwrite: bool = False,
             sources: Sequence[str | None] | None = None) -> Path:
        """Write the ensemble directory (atomically: ``out`` is untouched on any error).
        ``sources`` (one per member) is what ``ensemble.json`` records as each member's origin,
        instead of the directory it was copied from."""
        from embedlab.artifacts import write_manifest as write_run_manifest

        with atomic_dir(out, kind=KIND, overwrite=overwrite, fields={"format": FORMAT}) as tmp:
            entries = []
            origins = list(sources) if sources is not None else [
                str(m.path) if m.path else None for m in self.members]
            for name, member, w, origin in zip(self.names, self.members, self.weights, origins,
                                               strict=True):
                dest = tmp / "members" / name
                if member.path is not None:
                    shutil.copytree(member.path, dest)
                else:
                    dest.mkdir(parents=True)
                    member.write(dest)
                    write_run_manifest(dest)
                entries.append({"dir": f"members/{name}", "weight": float(w),
                                "model": member_model_name(member),
                                "source": origin})
            spec: dict[str, Any] = {"format": FORMAT, "combine": COMBINE,
                                    "classes": self.classes, "members": entries}
            if self.multilabel and self.thresholds is not None:
                spec["thresholds"] = self.thresholds.to_dict()
            if self.conformal_scores:
                spec["conformal_scores"] = self.conformal_scores
            (tmp / SPEC).write_text(json.dumps(spec, indent=1), encoding="utf-8")
        self.path = Path(out)
        return self.path


def _refuse_repeats(members: Sequence[Any]) -> None:
    """The same run twice is one model counted twice, not an ensemble of two."""
    seen: dict[Any, int] = {}
    for i, m in enumerate(members, 1):
        path = getattr(m, "path", None)
        key = Path(path).resolve() if path is not None else id(m)
        if key in seen:
            where = f"{path}" if path is not None else "the same predictor"
            raise ConfigError(f"members {seen[key]} and {i} are one run ({where}); an ensemble "
                              "combines different runs")
        seen[key] = i


def member_model_name(predictor: Any) -> str:
    """The model family a member runs (``fasttext``, ``cnn``...): the ``family`` of the model
    class its recorded architecture name (``embedlab.cnn.v2``, a family or a legacy name) builds;
    the recorded name itself when no registered class builds it."""
    from embedlab.models import model_class  # here: importing this module must not import torch

    name = str(getattr(predictor, "model_info", {}).get("name", "run"))
    try:
        return model_class(name).family
    except EmbedlabError:
        return name


def verify_ensemble(d: Path) -> dict[str, Any]:
    """Check an ensemble directory's manifest and files; return its parsed ``ensemble.json``.
    Every failure is one :class:`ArtifactError` line."""
    if not d.is_dir():
        raise ArtifactError(f"{d}: ensemble directory not found")
    kind = artifact_kind(d)
    if kind != KIND:
        raise ArtifactError(f"{d}: not an ensemble directory ({MANIFEST} says {kind or 'no kind'})")
    refuse_link(d / MANIFEST)
    try:
        manifest = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
        problem = listed_file_problem(d, manifest.get("files"), (SPEC,), "the ensemble was written")
        if problem:
            raise ArtifactError(f"{d}: this ensemble directory is damaged: {problem[1]}")
        spec = json.loads((d / SPEC).read_text(encoding="utf-8"))
    except EmbedlabError:
        raise
    except (OSError, ValueError, AttributeError) as e:
        raise ArtifactError(f"{d}: this ensemble directory is damaged: {type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise ArtifactError(f"{d}: this ensemble directory is damaged: {SPEC} is not "
                            f"'{FORMAT}'")
    for entry in spec.get("members") or []:
        member = (d / str(entry.get("dir", ""))).resolve() if isinstance(entry, dict) else None
        if member is None or d.resolve() not in member.parents:
            raise ArtifactError(f"{d}: this ensemble directory is damaged: {SPEC} names a "
                                "member outside the directory")
    return spec


def make_ensemble(members: Sequence[str | Path | Predictor], out: str | Path | None = None,
                  weights: Sequence[float] | None = None, overwrite: bool = False,
                  validation: TextDataset | None = None) -> EnsemblePredictor:
    """An ensemble of trained runs (run directories or in-memory predictors), written to
    ``out`` when given. Each member directory is verified as ``embedlab.load`` verifies it.

    Multi-label members: the ensemble's thresholds are chosen again on ``validation`` (default:
    the first member's validation split, rebuilt from its config) for its averaged
    probabilities; when that split cannot be had, the members' weighted mean thresholds are
    kept and the log says so."""
    from embedlab.inference.predictor import Predictor

    loaded = []
    for m in members:
        if isinstance(m, str | Path):
            if artifact_kind(m) == KIND:
                raise ConfigError(f"{m}: an ensemble cannot be a member of an ensemble; give "
                                  "its member runs")
            m = Predictor.load(m)
        elif not isinstance(m, Predictor):
            raise ConfigError(f"ensemble members are run directories or Predictors, found "
                              f"{type(m).__name__}")
        loaded.append(m)
    ensemble = EnsemblePredictor(loaded, weights)
    if ensemble.multilabel:
        rechoose_thresholds(ensemble, validation)
    if out is not None:
        ensemble.save(out, overwrite=overwrite)
    return ensemble


def fit_member_weights(probs: np.ndarray, y: np.ndarray, multilabel: bool = False,
                       iterations: int = 1000) -> np.ndarray:
    """Weights (non-negative, summing to 1) of the members whose probabilities of the same texts
    are ``probs`` (``[members, texts, classes]``) that maximise the likelihood of ``y`` (class
    indices; multi-label: indicator rows, each label a Bernoulli observation) under their
    weighted mean: the linear pool's maximum-likelihood weights, found by expectation-
    maximisation (each step raises the likelihood; a useless member's weight goes to 0). Fit
    them on texts the members did not train on (a bagged recipe's out-of-fold probabilities:
    those texts did early-stop and calibrate the runs that scored them, so they are a little
    kinder to each run than new texts would be, as in AutoGluon's bagging)."""
    probs = np.asarray(probs, dtype=np.float64)
    if multilabel:  # the probability each member gave to what was observed, per text and label
        y = np.asarray(y, dtype=bool)
        seen = np.where(y, probs, 1.0 - probs).reshape(len(probs), -1)
    else:
        seen = probs[:, np.arange(len(y)), np.asarray(y)]
    seen = np.maximum(seen, 1e-12)
    w = np.full(len(probs), 1.0 / len(probs))
    for _ in range(iterations):
        share = w[:, None] * seen
        new = (share / share.sum(0, keepdims=True)).mean(1)
        if np.abs(new - w).max() < 1e-9:
            return new
        w = new
    return w


def rechoose_thresholds(ensemble: EnsemblePredictor, validation: TextDataset | None,
                        probs: np.ndarray | None = None) -> None:
    """Choose a multi-label ensemble's thresholds on ``validation`` (or the first member's
    validation split) for its averaged probabilities; ``probs``: the probabilities to choose
    them for instead of the ensemble's own on ``validation`` (a bagged recipe's out-of-fold
    ones, one row per ``validation`` text)."""
    import logging

    from embedlab.training.run import encode_labels, load_splits
    from embedlab.training.thresholds import choose_thresholds

    log = logging.getLogger("embedlab")
    config = ensemble.config
    if validation is None:
        try:
            validation = load_splits(config).validation
        except EmbedlabError as e:
            log.warning("ensemble thresholds: the members' validation split cannot be rebuilt "
                        "(%s); keeping the members' mean thresholds", e)
            return
    if validation is None or not len(validation):
        log.warning("ensemble thresholds: no validation split; keeping the members' mean thresholds")
        return
    y = encode_labels(ensemble.labels, validation)
    if probs is None:
        probs = ensemble.probabilities(ensemble.encode_arrays(validation.texts))
    parents = ensemble.labels.parents() if ensemble.labels.hierarchy else None
    ensemble.thresholds = choose_thresholds(y, probs, ensemble.classes,
                                            config.training.threshold_metric, parents)
    log.info("ensemble thresholds chosen on %d validation texts (%s): using %s",
             len(validation), config.training.threshold_metric, ensemble.thresholds.use)
