"""``TextClassifier``: the scikit-learn estimator over raw texts.

It follows the estimator contract (``__init__`` only stores hyperparameters, learned state ends in
``_``), so ``clone``, ``cross_val_score``, ``GridSearchCV`` and LIME's ``classifier_fn`` work on
lists of strings with no glue.

Examples
--------
>>> clf = TextClassifier(model="fasttext", epochs=5).fit(texts, labels)   # doctest: +SKIP
>>> clf.predict_proba(["what is the capital of peru ?"])                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from embedlab.config import RunConfig
from embedlab.data import TextDataset, stratified_split
from embedlab.errors import DataError
from embedlab.predictor import Prediction, Predictor


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Embedding-based text classifier with a scikit-learn interface.

    Parameters mirror the run config (``embedlab train --help``); ``model_params`` holds the
    chosen model's hyperparameters (``embedlab models list`` shows them). ``val_size`` of the
    training data is held out for early stopping (0 disables it).
    """

    def __init__(
        self,
        model: str = "cnn",
        model_params: dict[str, Any] | None = None,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float | None = None,
        patience: int | None = None,
        embedding_dim: int = 100,
        embeddings: str | None = None,
        freeze: bool = False,
        max_vocab: int | None = 50_000,
        min_freq: int = 1,
        max_length: int | None = 400,
        lowercase: bool = True,
        remove_stopwords: bool = False,
        remove_parentheses: bool = False,
        punctuation: str = "separate",
        class_weights: str = "none",
        val_size: float = 0.1,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.model_params = model_params
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.embedding_dim = embedding_dim
        self.embeddings = embeddings
        self.freeze = freeze
        self.max_vocab = max_vocab
        self.min_freq = min_freq
        self.max_length = max_length
        self.lowercase = lowercase
        self.remove_stopwords = remove_stopwords
        self.remove_parentheses = remove_parentheses
        self.punctuation = punctuation
        self.class_weights = class_weights
        self.val_size = val_size
        self.seed = seed
        self.progress = progress

    def to_config(self) -> RunConfig:
        """The run config these hyperparameters stand for."""
        return RunConfig.from_dict({
            "data": {"val_size": self.val_size},
            "preprocess": {"lowercase": self.lowercase, "remove_stopwords": self.remove_stopwords,
                           "remove_parentheses": self.remove_parentheses, "punctuation": self.punctuation},
            "vocab": {"max_size": self.max_vocab, "min_freq": self.min_freq, "max_length": self.max_length},
            "embeddings": {"dim": self.embedding_dim, "source": self.embeddings, "freeze": self.freeze},
            "model": {"name": self.model, "params": dict(self.model_params or {})},
            "training": {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                         "patience": self.patience, "class_weights": self.class_weights,
                         "seed": self.seed, "progress": self.progress},
        }, source="TextClassifier")

    def fit(self, X: Sequence[str], y: Sequence[Any]) -> TextClassifier:
        from embedlab.training.run import fit

        texts = [str(t) for t in X]
        y = np.asarray(y)
        if len(texts) != len(y):
            raise DataError(f"X has {len(texts)} texts but y has {len(y)} labels")
        config = self.to_config()
        self.classes_ = np.unique(y)
        self._label_of = {str(c): c for c in self.classes_}
        train = TextDataset(texts, [str(v) for v in y], "fit(X, y)")
        val = None
        if self.val_size > 0 and len(self.classes_) > 1:
            tr, va, _ = stratified_split(train.labels, val_size=self.val_size, test_size=0.0, seed=self.seed)
            if len(va):
                train, val = train.subset(tr), train.subset(va)
        result = fit(config, train, val, class_order=[str(c) for c in self.classes_])
        self.predictor_ = result.predictor
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.embeddings_coverage_ = result.coverage
        return self

    def _columns(self) -> np.ndarray:
        """Map the predictor's class order onto ``classes_`` (original label values)."""
        return np.array([list(map(str, self.classes_)).index(c) for c in self.predictor_.classes])

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "predictor_")
        proba = self.predictor_.predict_proba(list(X))
        out = np.zeros_like(proba)
        out[:, self._columns()] = proba
        return out

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]

    def explain_predictions(self, X: Sequence[str]) -> list[Prediction]:
        """Label and sorted class probabilities for each text."""
        check_is_fitted(self, "predictor_")
        return self.predictor_.predict(list(X))

    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        """Write a run directory that ``embedlab.load`` reads back."""
        check_is_fitted(self, "predictor_")
        return self.predictor_.save(out, overwrite=overwrite)

    @classmethod
    def load(cls, directory: str | Path) -> Predictor:
        return Predictor.load(directory)
