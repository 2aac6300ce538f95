"""embedlab: text classification on word embeddings — learn, load and explore embeddings;
train, evaluate and use classifiers.

>>> import embedlab
>>> clf = embedlab.TextClassifier(model="cnn", epochs=10).fit(texts, labels)   # doctest: +SKIP
>>> clf.save("runs/x"); embedlab.load("runs/x").predict(["..."])             # doctest: +SKIP
>>> embedlab.TextClassifier.load("runs/x").predict_proba(["..."])           # doctest: +SKIP

Names are imported lazily so ``import embedlab`` (and the CLI's start) stays fast.
"""

from __future__ import annotations

import importlib

from embedlab.errors import ArtifactError, ConfigError, DataError, EmbeddingError, EmbedlabError

__version__ = "0.1.0"

_LAZY = {
    "RunConfig": "embedlab.config",
    "TextClassifier": "embedlab.estimator",
    "Prediction": "embedlab.inference.prediction",
    "Predictor": "embedlab.inference.predictor",
    "load": "embedlab.artifacts",
    "ensemble": "embedlab.inference.ensemble",
    "train": "embedlab.training.run",
}

__all__ = [
    "ArtifactError", "ConfigError", "DataError", "EmbeddingError", "EmbedlabError",
    "Prediction", "Predictor", "RunConfig", "TextClassifier", "ensemble", "load", "train",
]


def __getattr__(name: str):
    if name == "train":
        from embedlab.training.run import train_run

        return train_run
    if name == "ensemble":
        from embedlab.inference.ensemble import make_ensemble

        return make_ensemble
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in {"data", "text", "models", "training", "embeddings", "cli"}:
        return importlib.import_module(f"embedlab.{name}")
    raise AttributeError(f"module 'embedlab' has no attribute '{name}'")
