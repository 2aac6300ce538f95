"""``TextClassifier``: the scikit-learn estimator over raw texts.

It follows the estimator contract (``__init__`` only stores hyperparameters, learned state ends in
``_``, input is validated as scikit-learn does), so ``clone``, ``Pipeline``,
``cross_val_score``, ``GridSearchCV`` and LIME's ``classifier_fn`` work on lists of strings with
no glue.

Examples
--------
>>> clf = TextClassifier(model="fasttext", epochs=5).fit(texts, labels)   # doctest: +SKIP
>>> clf.predict_proba(["what is the capital of peru ?"])                   # doctest: +SKIP
>>> clf.save("runs/trec"); TextClassifier.load("runs/trec").predict(["..."])   # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, DataError
from embedlab.inference.encoding import check_texts

#: Estimator parameter -> (config section, config field). One table for both directions.
PARAMS: dict[str, tuple[str, str]] = {
    "model": ("model", "name"),
    "model_params": ("model", "params"),
    "epochs": ("training", "epochs"),
    "batch_size": ("training", "batch_size"),
    "lr": ("training", "lr"),
    "patience": ("training", "patience"),
    "embedding_dim": ("embeddings", "dim"),
    "embeddings": ("embeddings", "source"),
    "freeze": ("embeddings", "freeze"),
    "max_vocab": ("vocab", "max_size"),
    "min_freq": ("vocab", "min_freq"),
    "max_length": ("vocab", "max_length"),
    "lowercase": ("preprocess", "lowercase"),
    "remove_stopwords": ("preprocess", "remove_stopwords"),
    "remove_parentheses": ("preprocess", "remove_parentheses"),
    "punctuation": ("preprocess", "punctuation"),
    "class_weights": ("training", "class_weights"),
    "val_size": ("data", "val_size"),
    "seed": ("training", "seed"),
    "threads": ("training", "threads"),
    "progress": ("training", "progress"),
}
ESTIMATOR_FILE = "estimator.json"


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Embedding-based text classifier with a scikit-learn interface.

    ``X`` is a sequence of raw texts (a list, a 1-D array or a pandas Series of ``str``);
    ``y`` holds one label per text (strings, integers, ...); ``predict`` returns labels of the
    same kind. The parameters mirror the run config (``embedlab train --help``) and share its
    defaults, except ``progress`` (off here) and ``model_params`` (``None`` for ``{}``, as
    scikit-learn wants no mutable defaults); ``tests/test_estimator.py`` checks that.

    Parameters
    ----------
    model : str, default="fasttext"
        Model family: ``"fasttext"``, ``"cnn"``, ``"bag"`` or ``"rnn"`` (``embedlab models list``).
        The default won the accuracy suite of ``benchmarks/classify.py`` (``RESULTS.md``).
    model_params : dict or None, default=None
        The chosen model's hyperparameters (``embedlab models list`` shows them).
    epochs : int or None, default=None
        Training epochs (the most, with early stopping); ``None``: the model's default (fasttext
        trains 10 epochs with a linearly decaying rate, the others up to 10 with early stopping).
    batch_size : int, default=64
        Training batch size.
    lr : float or None, default=None
        Learning rate; ``None`` uses the model's own default.
    patience : int or None, default=None
        Early-stopping patience in epochs (0 disables it; ``None``: the model's default). Needs a
        validation split (``val_size > 0``).
    embedding_dim : int or None, default=None
        Size of randomly initialised embeddings (``None``: 100). Ignored when ``embeddings`` names
        vectors; with ``embeddings="auto"``, giving a size chooses random vectors of that size.
    embeddings : str or None, default="auto"
        Pretrained vectors, fine-tuned unless ``freeze``: a registered name (``glove-6b-50d``) or
        a path; ``"auto"``: ``glove-6b-50d`` when installed (the ``glove`` extra) and no
        ``embedding_dim`` is given, otherwise random vectors (with a logged warning when GloVe is
        missing); ``None``: random vectors.
    freeze : bool, default=False
        Keep pretrained vectors fixed instead of fine-tuning them.
    max_vocab : int or None, default=50000
        Keep at most this many tokens (most frequent first).
    min_freq : int, default=1
        Drop tokens seen fewer times in the training texts.
    max_length : int or None, default=400
        Truncate texts to this many tokens.
    lowercase, remove_stopwords, remove_parentheses : bool
        Preprocessing switches (defaults True, False, False).
    punctuation : {"separate", "remove", "keep"}, default="separate"
        What preprocessing does with punctuation.
    class_weights : {"none", "balanced"}, default="none"
        Weight the loss by inverse class frequency with ``"balanced"``.
    val_size : float, default=0.15
        Share of the training data held out (stratified) for early stopping and the best-epoch
        choice (the run config's ``data.val_size``, as ``embedlab train``); 0 trains on
        everything.
    seed : int, default=0
        Seed of every random choice: two fits with the same seed and data give the same model.
    threads : int or None, default=None
        Torch CPU threads while fitting (``None``: the model's default — 1 for ``fasttext``,
        whose batches are too small to share — otherwise torch's setting). The process's thread
        count, random generators and deterministic-algorithms flag are restored after ``fit``.
    progress : bool, default=False
        Show a progress bar while training (off, unlike ``embedlab train``: an estimator is
        fitted many times over by ``GridSearchCV`` / ``cross_val_score``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted, in the column order of :meth:`predict_proba`.
    predictor_ : embedlab.Predictor
        The fitted preprocessing + vocabulary + model (what ``embedlab.load`` returns).
    history_ : list of dict
        Per-epoch training record (``train_loss``, ``val_loss``, ``val_acc``, ...).
    best_epoch_ : int or None
        The epoch whose weights were kept (``None`` without a validation split).
    embeddings_coverage_ : dict or None
        With pretrained ``embeddings``: how much of the vocabulary the vectors cover.

    Examples
    --------
    >>> clf = TextClassifier(model="fasttext", epochs=5).fit(texts, labels)  # doctest: +SKIP
    >>> clf.predict(["a great film"])  # doctest: +SKIP
    array(['pos'], dtype='<U3')
    """

    def __init__(
        self,
        model: str = "fasttext",
        model_params: dict[str, Any] | None = None,
        epochs: int | None = None,
        batch_size: int = 64,
        lr: float | None = None,
        patience: int | None = None,
        embedding_dim: int | None = None,
        embeddings: str | None = "auto",
        freeze: bool = False,
        max_vocab: int | None = 50_000,
        min_freq: int = 1,
        max_length: int | None = 400,
        lowercase: bool = True,
        remove_stopwords: bool = False,
        remove_parentheses: bool = False,
        punctuation: str = "separate",
        class_weights: str = "none",
        val_size: float = 0.15,
        seed: int = 0,
        threads: int | None = None,
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
        self.threads = threads
        self.progress = progress

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.classifier_tags.multi_label = True
        return tags

    # ----- config ------------------------------------------------------------------------
    def to_config(self) -> RunConfig:
        """The run config these hyperparameters stand for."""
        data: dict[str, dict[str, Any]] = {}
        for param, (section, key) in PARAMS.items():
            value = getattr(self, param)
            if param == "model_params":
                value = dict(value or {})
            data.setdefault(section, {})[key] = value
        return RunConfig.from_dict(data, source="TextClassifier")

    @classmethod
    def params_from_config(cls, config: RunConfig) -> dict[str, Any]:
        """The estimator parameters of a run config (the inverse of :meth:`to_config`)."""
        params = {p: getattr(getattr(config, s), k) for p, (s, k) in PARAMS.items()}
        params["model_params"] = dict(params["model_params"]) or None
        return params

    # ----- fit / predict ---------------------------------------------------------------------
    def fit(self, X: Iterable[str], y: Iterable[Any]) -> TextClassifier:
        """Fit preprocessing, vocabulary, labels and model on texts ``X`` and labels ``y``.

        Multi-label, as scikit-learn's convention (``MultiLabelBinarizer``): ``y`` a list of
        label lists (``classes_`` the sorted labels) or a binary indicator matrix ``(n_texts,
        n_labels)`` (``classes_`` = ``0..n_labels-1``); one sigmoid per label, thresholds chosen
        on the held-out ``val_size`` share (iterative stratification), and :meth:`predict`
        returns the indicator matrix.

        Raises
        ------
        ValueError (DataError)
            ``X`` is a single string or holds non-strings, ``y`` holds missing labels (None,
            NaN), their lengths differ, or ``X`` is empty.
        """
        texts = check_texts(X, "X", allow_empty=False)
        from embedlab.data import TextDataset, stratified_split
        from embedlab.training.run import fit

        config = self.to_config()
        sets = multilabel_target(y, len(texts))
        if sets is not None:
            return self._fit_multilabel(config, texts, *sets)
        y = check_labels(y, len(texts))
        classes = np.unique(y)
        train = TextDataset(texts, [str(v) for v in y], "fit(X, y)")
        val = None
        if self.val_size > 0 and len(classes) > 1:
            tr, va, _ = stratified_split(train.labels, val_size=self.val_size, test_size=0.0,
                                         seed=self.seed)
            if len(va):
                train, val = train.subset(tr), train.subset(va)
        result = fit(config, train, val, class_order=[str(c) for c in classes])
        return self._fitted(classes, False, result)

    def _fitted(self, classes: np.ndarray, multilabel: bool, result: Any) -> TextClassifier:
        """Set the fitted attributes from a :class:`~embedlab.training.run.FitResult`."""
        self.classes_ = classes
        self.multilabel_ = multilabel
        self.predictor_ = result.predictor
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.embeddings_coverage_ = result.coverage
        return self

    def _fit_multilabel(self, config: RunConfig, texts: list[str], classes: np.ndarray,
                        indicator: np.ndarray) -> TextClassifier:
        from embedlab.data import TextDataset, multilabel_split
        from embedlab.training.run import fit

        names = [str(c) for c in classes]
        if len(set(names)) != len(names):
            raise DataError("y: two labels have the same text form; give distinct labels")
        sets = [[names[j] for j in np.flatnonzero(row)] for row in indicator]
        train = TextDataset(texts, [], "fit(X, Y)", label_sets=sets)
        val = None
        if self.val_size > 0:
            tr, va, _ = multilabel_split(sets, val_size=self.val_size, test_size=0.0,
                                         seed=self.seed)
            if len(va):
                train, val = train.subset(tr), train.subset(va)
        kept = {label for row in train.label_sets or [] for label in row}
        missing = [name for name in names if name not in kept]  # before training, not after
        if missing:
            raise DataError(f"y: label(s) {', '.join(missing[:5])} have no example left for "
                            "training; every label needs a positive example")
        result = fit(config, train, val, class_order=names)
        return self._fitted(classes, True, result)

    def _columns(self) -> np.ndarray:
        """Map the predictor's class order onto ``classes_`` (original label values)."""
        names = [str(c) for c in self.classes_]
        return np.array([names.index(c) for c in self.predictor_.classes])

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Class probabilities, shape ``(n_texts, n_classes)``, columns in ``classes_`` order.

        Raises :class:`~embedlab.errors.DataError` naming texts that are empty after
        preprocessing (there is nothing to predict for them).
        """
        check_is_fitted(self, "predictor_")
        proba = self.predictor_.predict_proba(check_texts(X, "X", allow_empty=False))
        out = np.zeros_like(proba)
        out[:, self._columns()] = proba
        return out

    def predict(self, X: Iterable[str]) -> np.ndarray:
        """The most probable label of each text (same kind as the ``y`` given to ``fit``);
        multi-label: the binary indicator matrix ``(n_texts, n_labels)``, columns in
        ``classes_`` order, decided by the thresholds chosen on validation."""
        check_is_fitted(self, "predictor_")
        if getattr(self, "multilabel_", False):
            own = self.predictor_.predict_proba(check_texts(X, "X", allow_empty=False))
            out = np.zeros(own.shape, dtype=np.int64)
            out[:, self._columns()] = self.predictor_.decide(own)
            return out
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(1)]

    def explain(self, X: Iterable[str], method: str = "auto", target: Any = None,
                **kw: Any) -> list:
        """Why each text got its prediction: one :class:`~embedlab.explain.Explanation` per text
        (``method``: auto, ig, exact, ngrams, attention, lime, occlusion)."""
        check_is_fitted(self, "predictor_")
        return self.predictor_.explain(list(X), method=method,
                                       target=None if target is None else str(target), **kw)

    # ----- persistence -------------------------------------------------------------------
    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        """Write a run directory: ``embedlab.load`` reads it as a Predictor and
        :meth:`TextClassifier.load` as this estimator (parameters and ``classes_`` kept)."""
        from embedlab.artifacts import atomic_run_dir

        check_is_fitted(self, "predictor_")
        state = {
            "params": self.get_params(deep=False),
            "multilabel": bool(getattr(self, "multilabel_", False)),
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str if self.classes_.dtype != object else "object",
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "embeddings_coverage": self.embeddings_coverage_,
        }
        with atomic_run_dir(out, overwrite=overwrite) as tmp:
            self.predictor_.write(tmp)
            (tmp / ESTIMATOR_FILE).write_text(json.dumps(state, indent=1, default=str),
                                              encoding="utf-8")
        self.predictor_.path = Path(out)
        return Path(out)

    @classmethod
    def load(cls, directory: str | Path) -> TextClassifier:
        """A fitted ``TextClassifier`` from a run directory (checksums verified, no pickle).

        A directory written by :meth:`save` gives back the same parameters and ``classes_``
        (original label values); one written by ``embedlab train`` gives the parameters of its
        config and string labels.
        """
        from embedlab.inference.predictor import Predictor

        predictor = Predictor.load(directory)
        state_file = Path(directory) / ESTIMATOR_FILE
        if state_file.is_file():
            try:
                state = json.loads(state_file.read_text(encoding="utf-8"))
                clf = cls(**state["params"])
                dtype = state["classes_dtype"]
                classes = np.array(state["classes"], dtype=object if dtype == "object" else dtype)
            except (ValueError, KeyError, TypeError) as e:
                raise ArtifactError(
                    f"{directory}: this run directory is damaged: {ESTIMATOR_FILE}: {e}"
                ) from None
            history, best, coverage = (state.get("history") or [], state.get("best_epoch"),
                                       state.get("embeddings_coverage"))
        else:
            clf = cls(**cls.params_from_config(predictor.config))
            classes = np.array(sorted(predictor.classes))
            history, best, coverage = _read_history(Path(directory)), None, None
        if sorted(str(c) for c in classes) != sorted(predictor.classes):
            raise ArtifactError(
                f"{directory}: this run directory is damaged: {ESTIMATOR_FILE} lists classes "
                f"that labels.json does not"
            )
        clf.classes_ = classes
        clf.multilabel_ = predictor.multilabel
        clf.predictor_ = predictor
        clf.history_ = history
        clf.best_epoch_ = best
        clf.embeddings_coverage_ = coverage
        return clf


def _read_history(directory: Path) -> list[dict]:
    try:
        return json.loads((directory / "history.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def multilabel_target(y: Any, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(classes, indicator matrix)`` when ``y`` is multi-label (a 2-D 0/1 matrix, or a
    sequence of label lists / tuples / sets, as scikit-learn's ``MultiLabelBinarizer`` takes),
    else ``None``. A non-binary matrix or a row count other than ``n`` is a :class:`DataError`."""
    if y is None or isinstance(y, (str, bytes)):
        return None
    if hasattr(y, "toarray"):  # a scipy sparse indicator matrix
        y = y.toarray()
    if hasattr(y, "to_numpy") and getattr(y, "ndim", 1) == 2:  # a pandas DataFrame of 0/1 columns
        y = y.to_numpy()
    if not isinstance(y, np.ndarray):  # nested lists of 0/1 of one length: scikit-learn's
        from sklearn.utils.multiclass import type_of_target  # indicator, not label lists

        try:
            if type_of_target(y) == "multilabel-indicator":
                y = np.asarray(y)
        except (ValueError, TypeError):  # label lists of other lengths, None labels: below
            pass
    if isinstance(y, np.ndarray) and y.ndim == 2:
        if y.dtype.kind not in "biuf":  # not an indicator matrix: check_labels says why
            return None
        if not np.isin(y, (0, 1)).all():
            raise DataError("y: a 2-D y is a multi-label indicator matrix and must hold only 0 "
                            "and 1")
        if len(y) != n:
            raise DataError(f"X and y have different lengths: {n} texts but {len(y)} rows of y")
        return np.arange(y.shape[1]), y.astype(bool)
    rows = list(y) if not isinstance(y, np.ndarray) else y.tolist()
    if not rows or not all(isinstance(r, (list, tuple, set, frozenset)) for r in rows):
        if rows and any(isinstance(r, (list, tuple, set, frozenset)) for r in rows):
            raise DataError("y mixes label lists and single labels; give a list of labels for "
                            "every text")
        return None
    if len(rows) != n:
        raise DataError(f"X and y have different lengths: {n} texts but {len(rows)} label lists")
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer()
    indicator = mlb.fit_transform([list(r) for r in rows]).astype(bool)
    if len(mlb.classes_) < 2:
        raise DataError("y: expected at least 2 distinct labels to train a classifier")
    return np.asarray(mlb.classes_), indicator


def check_labels(y: Any, n: int) -> np.ndarray:
    """``y`` as a 1-D array of ``n`` labels without missing values, or a clear ``ValueError``."""
    if y is None:
        raise DataError("y is required: one label per text")
    if isinstance(y, (str, bytes)):
        raise DataError("y must be a list of labels, found a single string")
    values = y if isinstance(y, np.ndarray) else np.asarray(y, dtype=object)
    if values.ndim != 1:
        raise DataError(f"y must be 1-D (one label per text); found shape {values.shape}")
    if len(values) != n:
        raise DataError(f"X and y have different lengths: {n} texts but {len(values)} labels")
    missing = [i for i, v in enumerate(values.tolist()) if _is_missing(v)]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise DataError(f"y has missing labels (None or NaN) at index {shown}")
    return values if isinstance(y, np.ndarray) else np.asarray(values.tolist())


def _is_missing(value: Any) -> bool:
    """None, a float NaN (numpy's too) or pandas' NA / NaT."""
    if value is None or type(value).__name__ in {"NAType", "NaTType"}:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)
