"""``TextClassifier`` as a scikit-learn estimator: input validation, the estimator checks that
apply to text input (run by hand: ``check_estimator`` itself feeds numeric 2-D arrays), the
save/load round trip, and that ``fit`` leaves the process's global state as it found it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import embedlab
from embedlab import TextClassifier
from embedlab.errors import DataError

TOPICS = {t: words.split(" ") for t, words in {
    "sport": "goal match team coach league striker referee stadium season cup",
    "money": "bank stock market shares profit investor loan dividend bond tax",
    "space": "rocket orbit planet nasa moon launch astronaut galaxy telescope mars",
}.items()}
FILLER = ["the", "a", "of", "in", "today", "report", "said", "new", "after", "week"]
FAST = {"model": "fasttext", "embedding_dim": 16, "epochs": 10, "lr": 0.5, "val_size": 0,
        "batch_size": 16}


def separable(n_per_class: int = 30, seed: int = 0, classes: int = 2) -> tuple[list[str], list[str]]:
    """Generated texts: each mixes 4 words of its topic with 4 shared filler words."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label in list(TOPICS)[:classes]:
        for _ in range(n_per_class):
            tokens = [*rng.choice(TOPICS[label], 4), *rng.choice(FILLER, 4)]
            rng.shuffle(tokens)
            texts.append(" ".join(tokens))
            labels.append(label)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [labels[i] for i in order]


@pytest.fixture(scope="module")
def data():
    return separable()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return TextClassifier(**FAST).fit(X, y)


# ----- validation (scikit-learn's rules) ---------------------------------------------------
@pytest.mark.parametrize("X, y, match", [
    ("a single text", ["a"], "single str"),
    (["fine", None, "fine"], ["a", "b", "a"], r"non-strings at index 1 \(NoneType\)"),
    (["fine", 3, ["a", "list"]], ["a", "b", "a"], r"index 1 \(int\), 2 \(list\)"),
    (np.array([["a"], ["b"]]), ["a", "b"], "must be 1-D"),
    ([], [], "X is empty"),
    (["one", "two", "three"], ["a", "b"], "different lengths: 3 texts but 2 labels"),
    (["one", "two", "three"], ["a", float("nan"), "b"], r"missing labels .* index 1"),
    (["one", "two", "three"], np.array([1.0, np.nan, 2.0]), r"missing labels .* index 1"),
    (["one", "two", "three"], ["a", None, "b"], r"missing labels .* index 1"),
    (["one", "two"], np.array([["a"], ["b"]]), "y must be 1-D"),
])
def test_fit_refuses_bad_input_with_a_clear_value_error(X, y, match):
    with pytest.raises(ValueError, match=match) as err:
        TextClassifier(**FAST).fit(X, y)
    assert isinstance(err.value, DataError) and "\n" not in str(err.value)


def test_predict_before_fit_raises_not_fitted_error(tmp_path):
    clf = TextClassifier()
    for call in (lambda: clf.predict(["x"]), lambda: clf.predict_proba(["x"]),
                 lambda: clf.score(["x"], ["a"]), lambda: clf.save(tmp_path / "run")):
        with pytest.raises(NotFittedError):
            call()
    assert not (tmp_path / "run").exists()


def test_predict_refuses_a_bare_string_non_strings_and_empty_texts(fitted):
    with pytest.raises(ValueError, match="single str"):
        fitted.predict("goal match team")
    with pytest.raises(ValueError, match="non-strings at index 0"):
        fitted.predict_proba([None])
    with pytest.raises(ValueError, match="X is empty"):
        fitted.predict([])
    with pytest.raises(DataError, match="1, 2"):  # the team rule: array APIs name empty texts
        fitted.predict(["goal match team", "", "   "])


# ----- the estimator checks that apply to text -----------------------------------------------
def test_init_stores_only_its_parameters_and_clone_is_equal():
    clf = TextClassifier(model="bag", epochs=3, model_params={"pooling": "mean"}, threads=1)
    assert set(vars(clf)) == set(clf.get_params())
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    assert twin.model_params == clf.model_params and twin.model_params is not clf.model_params
    twin.set_params(epochs=7, lr=1e-3)
    assert (twin.epochs, twin.lr, clf.epochs, clf.lr) == (7, 1e-3, 3, None)
    again = pickle.loads(pickle.dumps(clf))  # joblib (n_jobs > 1) pickles unfitted estimators
    assert again.get_params() == clf.get_params()


#: estimator parameters whose default deliberately differs from the run config's, with why
DELIBERATE_DIFFERENCES = {
    "progress": "an estimator is fitted many times over (GridSearchCV): no progress bar",
    "model_params": "None stands for {}: scikit-learn wants no mutable defaults",
}


def test_estimator_defaults_are_the_run_configs_except_the_listed_ones():
    import inspect

    from embedlab.config import RunConfig
    from embedlab.estimator import PARAMS

    signature = inspect.signature(TextClassifier.__init__).parameters
    assert set(signature) - {"self"} == set(PARAMS)  # every parameter maps onto the config
    config = RunConfig()
    differ = {p for p, (section, key) in PARAMS.items()
              if signature[p].default != getattr(getattr(config, section), key)}
    assert differ == set(DELIBERATE_DIFFERENCES)
    assert TextClassifier().to_config() == config.model_copy(update={
        "training": config.training.model_copy(update={"progress": False})})


def test_fit_returns_self_and_the_fitted_contract(fitted, data):
    X, y = data
    clf = TextClassifier(**FAST)
    assert clf.fit(X, y) is clf
    assert list(clf.classes_) == ["money", "sport"]
    proba = clf.predict_proba(X[:7])
    assert proba.shape == (7, 2) and proba.dtype.kind == "f"
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    pred = clf.predict(X[:7])
    assert pred.shape == (7,) and list(pred) == list(clf.classes_[proba.argmax(1)])
    assert clf.score(X, y) == accuracy_score(y, clf.predict(X)) >= 0.95
    assert isinstance(clf.predictor_, embedlab.Predictor) and clf.history_
    assert not hasattr(clone(clf), "classes_")


def test_refit_with_the_same_seed_is_identical_and_another_seed_differs(fitted, data):
    X, y = data
    again = TextClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    fitted_twice = clone(fitted).fit(X, y).fit(X, y)  # idempotent: a second fit starts over
    np.testing.assert_array_equal(fitted_twice.predict_proba(X), fitted.predict_proba(X))
    other = TextClassifier(**{**FAST, "seed": 1}).fit(X, y)
    assert not np.array_equal(other.predict_proba(X), fitted.predict_proba(X))


def test_three_integer_classes_keep_their_order_and_dtype():
    X, names = separable(n_per_class=20, classes=3)
    code = {"sport": 2, "money": 0, "space": 1}
    y = np.array([code[n] for n in names])
    clf = TextClassifier(**FAST).fit(X, y)
    assert clf.classes_.tolist() == [0, 1, 2] and clf.classes_.dtype == y.dtype
    assert clf.predict_proba(X).shape == (len(X), 3)
    probe = ["rocket orbit planet launch", "bank stock market profit", "goal match team coach"]
    assert clf.predict(probe).tolist() == [1, 0, 2]
    assert clf.predict_proba(probe).argmax(1).tolist() == [1, 0, 2]


def test_works_in_a_pipeline(data):
    X, y = data
    pipe = Pipeline([("upper", FunctionTransformer(lambda texts: [t.upper() for t in texts])),
                     ("clf", TextClassifier(**FAST))])
    pipe.fit(X, y)
    assert pipe.score(X, y) >= 0.95 and pipe.predict(["GOAL MATCH TEAM"]).tolist() == ["sport"]


def test_cross_val_score_learns_separable_text_and_not_shuffled_labels(data):
    X, y = separable(n_per_class=30, seed=1)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(TextClassifier(**FAST), X, y, cv=cv)
    assert scores.shape == (3,) and scores.min() >= 0.9
    shuffled = np.random.default_rng(0).permutation(y)
    chance = cross_val_score(TextClassifier(**FAST), X, shuffled, cv=cv)
    assert chance.mean() <= 0.75


def test_grid_search_picks_the_learning_rate_that_can_learn(data):
    X, y = data
    grid = GridSearchCV(TextClassifier(**FAST), {"lr": [1e-7, 0.5]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_ == {"lr": 0.5}
    low, high = grid.cv_results_["mean_test_score"]
    assert high >= 0.9 and high - low >= 0.2
    assert grid.predict(["rocket goal match team"]).tolist() == ["sport"]


# ----- persistence ------------------------------------------------------------------------
def test_save_and_load_round_trip_the_estimator_itself(fitted, data, tmp_path):
    X, _ = data
    fitted.save(tmp_path / "run")
    back = TextClassifier.load(tmp_path / "run")
    assert type(back) is TextClassifier
    assert back.get_params() == fitted.get_params()
    assert back.classes_.tolist() == fitted.classes_.tolist()
    np.testing.assert_array_equal(back.predict_proba(X), fitted.predict_proba(X))
    assert back.history_ == fitted.history_ and back.best_epoch_ == fitted.best_epoch_
    predictor = embedlab.load(tmp_path / "run")
    assert isinstance(predictor, embedlab.Predictor)
    np.testing.assert_array_equal(predictor.predict_proba(X), fitted.predictor_.predict_proba(X))
    assert clone(back).get_params() == fitted.get_params()  # a loaded estimator can be refit


def test_integer_labels_survive_save_and_load(tmp_path):
    X, names = separable(n_per_class=15)
    y = np.array([{"sport": 7, "money": 3}[n] for n in names], dtype=np.int64)
    clf = TextClassifier(**FAST).fit(X, y)
    clf.save(tmp_path / "run")
    back = TextClassifier.load(tmp_path / "run")
    assert back.classes_.dtype == np.int64 and back.predict(X).tolist() == clf.predict(X).tolist()


def test_load_a_run_trained_from_a_config(tmp_path):
    from embedlab.config import RunConfig
    from embedlab.training.run import train_run

    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 200},
                               "model": {"name": "bag"},
                               "training": {"epochs": 1, "seed": 5, "progress": False}})
    res = train_run(cfg, tmp_path / "run")
    clf = TextClassifier.load(tmp_path / "run")
    assert (clf.model, clf.epochs, clf.seed) == (res.predictor.config.model.name, 1, 5)
    assert "bag" in clf.model and clf.to_config().model == res.predictor.config.model
    assert sorted(clf.classes_.tolist()) == sorted(res.predictor.classes)
    texts = ["Stocks fell sharply on Monday", "The team won the final"]
    columns = [clf.classes_.tolist().index(c) for c in res.predictor.classes]
    np.testing.assert_array_equal(clf.predict_proba(texts)[:, columns],
                                  res.predictor.predict_proba(texts))


# ----- no process-wide side effects -------------------------------------------------------------
def test_fit_restores_threads_determinism_and_random_generators(data):
    from embedlab.training import trainer

    X, y = data
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(1234)
    np.random.seed(1234)
    expected_torch, expected_np = torch.rand(3), np.random.rand(3)
    torch.manual_seed(1234)
    np.random.seed(1234)
    target = 2 if threads != 2 else 1
    clf = TextClassifier(**{**FAST, "threads": target})
    seen = {}
    original_fit = trainer.Trainer.fit

    def spy(self, *a, **k):
        seen["threads"] = torch.get_num_threads()
        seen["deterministic"] = torch.are_deterministic_algorithms_enabled()
        return original_fit(self, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(trainer.Trainer, "fit", spy)
        clf.fit(X, y)
    assert seen == {"threads": target, "deterministic": True}  # honoured while fitting
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.equal(torch.rand(3), expected_torch)  # the user's generator state is intact
    assert np.array_equal(np.random.rand(3), expected_np)


def test_writing_plots_leaves_matplotlib_backend_and_pyplot_alone(tmp_path):
    import matplotlib

    from embedlab.embeddings import Vectors, plot_projection
    from embedlab.embeddings.vectors import from_arrays
    from embedlab.training.plots import plot_confusion_matrix, plot_learning_curves

    words = ["king", "queen", "man", "woman"]
    vectors = Vectors(from_arrays(words, np.eye(4, 3, dtype=np.float32) + 0.1))

    matplotlib.use("svg")
    try:
        import matplotlib.pyplot as plt

        figures = plt.get_fignums()
        plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"], tmp_path / "cm.png")
        plot_learning_curves([{"epoch": 1, "train_loss": 1.0, "val_loss": 0.9, "best": True},
                              {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7}],
                             tmp_path / "lc.png")
        plot_projection(vectors, words, out=tmp_path / "pr.png")
        assert matplotlib.get_backend() == "svg" and plt.get_fignums() == figures
    finally:
        matplotlib.use("agg")
    for name in ("cm.png", "lc.png", "pr.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
