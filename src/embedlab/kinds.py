"""Every kind of directory artifact embedlab writes, declared once.

A directory is an embedlab artifact when its ``manifest.json`` says ``"kind": <one of these>``
(:func:`embedlab.atomic.artifact_kind` reads it). Writers pass the kind to
:func:`embedlab.atomic.atomic_dir`; readers compare against the same constant, so a kind string
is spelled here and nowhere else. The strings are on disk in every artifact ever written:
changing one would orphan them, so they never change (a new layout gets a new format, not a new
kind).
"""

from __future__ import annotations

#: A trained run (:mod:`embedlab.artifacts`): config, vocabulary, labels, model weights.
RUN_KIND = "embedlab-run"
#: The run directory layout its manifest's ``"format"`` names.
RUN_FORMAT = "embedlab-run-v1"
#: An ensemble of runs (:mod:`embedlab.inference.ensemble`).
ENSEMBLE_KIND = "embedlab-ensemble"
ENSEMBLE_FORMAT = "embedlab-ensemble-v1"
#: An ONNX export of a run (:mod:`embedlab.export`).
EXPORT_KIND = "embedlab-export"
EXPORT_FORMAT = "embedlab-export-onnx-v1"
#: Word vectors saved by :meth:`embedlab.embeddings.Vectors.save`.
VECTORS_KIND = "embedlab-vectors"
#: An experiment folder: a grid and its runs (:mod:`embedlab.experiments.runner`).
EXPERIMENT_KIND = "embedlab-experiment"
EXPERIMENT_FORMAT = "embedlab-experiment-v1"
#: A hyperparameter search folder (:mod:`embedlab.experiments.search`).
SEARCH_KIND = "embedlab-search"

#: Every kind above.
KINDS = (RUN_KIND, ENSEMBLE_KIND, EXPORT_KIND, VECTORS_KIND, EXPERIMENT_KIND, SEARCH_KIND)

#: Directories written by embedlab 0.1, before manifests carried a ``"kind"``: a run manifest's
#: ``"format"`` names its kind.
LEGACY_FORMATS = {RUN_FORMAT: RUN_KIND}
#: ... and a vectors directory had a ``meta.json`` whose ``"format"`` was the kind.
LEGACY_VECTORS_META = ("meta.json", VECTORS_KIND)

__all__ = ["ENSEMBLE_FORMAT", "ENSEMBLE_KIND", "EXPERIMENT_FORMAT", "EXPERIMENT_KIND",
           "EXPORT_FORMAT", "EXPORT_KIND", "KINDS", "LEGACY_FORMATS", "LEGACY_VECTORS_META",
           "RUN_FORMAT", "RUN_KIND", "SEARCH_KIND", "VECTORS_KIND"]
