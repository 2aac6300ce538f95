"""The whole loop through the Python API: overfit, save/load, batch vs one-by-one, determinism,
and bad input that must fail cleanly (the scikit-learn contract: tests/test_estimator.py)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import embedlab
from embedlab import TextClassifier
from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, ConfigError, DataError
from embedlab.training.run import train_run

MODELS = {
    "cnn": {},
    "bag-mean": {"pooling": "mean"},
    "bag-flatten": {"pooling": "flatten", "max_length": 48},
    "rnn-attention": {"cell": "gru", "pooling": "attention"},
    "rnn-last-lstm": {"cell": "lstm", "pooling": "last", "bidirectional": True},
    "fasttext": {},
}


def _name(key: str) -> str:
    return key.split("-")[0]


@pytest.mark.parametrize("key", list(MODELS))
def test_every_model_overfits_a_tiny_real_set(tiny, key):
    lr = 1.0 if key == "fasttext" else 5e-3  # fasttext: per-example SGD rate (5e-3 suits Adam)
    clf = TextClassifier(model=_name(key), model_params=MODELS[key], epochs=40, lr=lr, batch_size=16,
                         embeddings=None, embedding_dim=32, val_size=0, patience=0, seed=1)
    clf.fit(tiny.texts, tiny.labels)
    assert clf.score(tiny.texts, tiny.labels) >= 0.97


@pytest.fixture(scope="module")
def trained(ag_sample, tmp_path_factory):
    data = ag_sample.subset(range(600))
    clf = TextClassifier(model="cnn", epochs=3, embedding_dim=32, seed=3).fit(data.texts, data.labels)
    out = tmp_path_factory.mktemp("runs") / "cnn"
    clf.save(out)
    return clf, out, data


def test_save_load_gives_identical_probabilities(trained):
    clf, out, data = trained
    loaded = embedlab.load(out)
    texts = data.texts[:50]
    np.testing.assert_array_equal(loaded.predict_proba(texts), clf.predictor_.predict_proba(texts))
    p = loaded.predict(["Oil prices climb as stocks fall"])[0]
    assert p.label in loaded.classes
    probs = list(p.probabilities.values())
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-5


def test_batch_prediction_equals_one_by_one(trained):
    clf, _, data = trained
    texts = data.texts[:40]
    batch = clf.predict_proba(texts)
    single = np.vstack([clf.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_predictor_is_thread_safe(trained):
    _, out, data = trained
    pred = embedlab.load(out)
    texts = data.texts[:64]
    expected = pred.predict_proba(texts)
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(pred.predict_proba(texts))
        except Exception as e:  # noqa: BLE001 - any failure in a thread is reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 12
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


def test_two_seeded_runs_give_identical_metrics(tmp_path):
    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 500},
                               "model": {"name": "fasttext"}, "training": {"epochs": 2, "seed": 7}})
    a = train_run(cfg, tmp_path / "a")
    b = train_run(cfg, tmp_path / "b")
    assert a.metrics["test"] == {**b.metrics["test"], "predict_seconds": a.metrics["test"]["predict_seconds"],
                                 "texts_per_s": a.metrics["test"]["texts_per_s"]}
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]


def test_run_directory_contents_and_reproducible_config(trained_run, tmp_path):
    run = trained_run("bag", embeddings__dim=None)  # the default vectors, as a user gets
    names = {p.name for p in run.iterdir()}
    assert {"config.yaml", "vocab.json", "labels.json", "model.json", "model.safetensors", "metrics.json",
            "history.json", "learning_curves.png", "confusion_matrix.png", "manifest.json"} <= names
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["test"]["per_class"]) == {"World", "Sports", "Business", "Sci/Tech"}
    again = train_run(RunConfig.from_yaml(run / "config.yaml"), tmp_path / "again")
    assert again.metrics["test"]["accuracy"] == metrics["test"]["accuracy"]


def test_early_stopping_restores_the_best_weights(ag_sample):
    data = ag_sample.subset(range(400))
    clf = TextClassifier(model="cnn", epochs=12, lr=2e-2, patience=2, embedding_dim=16, val_size=0.25, seed=0)
    clf.fit(data.texts, data.labels)
    hist = clf.history_
    best = min(hist, key=lambda h: h["val_loss"])
    assert clf.best_epoch_ == best["epoch"]
    # the restored model reproduces the best epoch's validation loss, not the last epoch's
    from embedlab.data import stratified_split
    _, va, _ = stratified_split([str(v) for v in data.labels], val_size=0.25, test_size=0.0, seed=0)
    val = data.subset(va)
    # the raw softmax, as training measured it (predict_proba is calibrated afterwards)
    logits = clf.predictor_.logits(clf.predictor_.encode_arrays(val.texts))
    proba = np.exp(logits - logits.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    y = clf.predictor_.labels.encode(val.labels)
    loss = float(-np.log(proba[np.arange(len(y)), y]).mean())
    assert loss == pytest.approx(best["val_loss"], rel=1e-4)


def test_integer_labels_come_back_as_integers(tiny):
    y = np.array([{"World": 0, "Sports": 1, "Business": 2, "Sci/Tech": 3}[lab] for lab in tiny.labels])
    clf = TextClassifier(model="fasttext", epochs=30, lr=1.0, val_size=0).fit(tiny.texts, y)  # SGD rate
    assert clf.predict(tiny.texts[:3]).dtype == y.dtype
    assert clf.score(tiny.texts, y) > 0.9


# ----- bad input --------------------------------------------------------------------------------
def test_unknown_model_suggests_the_closest(tiny):
    with pytest.raises(ConfigError, match=r"unknown model 'cnnn' \(did you mean 'cnn'\?\)"):
        TextClassifier(model="cnnn").fit(tiny.texts, tiny.labels)


def test_unknown_model_option_suggests_the_closest(tiny):
    with pytest.raises(ConfigError, match="filter"):
        TextClassifier(model="cnn", model_params={"filterz": 3}).fit(tiny.texts, tiny.labels)


def test_single_class_fails_cleanly(tmp_path):
    f = tmp_path / "one.csv"
    f.write_text("text,label\n" + "".join(f"text number {i},a\n" for i in range(20)))
    cfg = RunConfig.from_dict({"data": {"path": str(f)}, "training": {"epochs": 1}})
    with pytest.raises(DataError, match="at least 2 classes"):
        train_run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_interrupted_training_leaves_no_run_directory(tmp_path, monkeypatch):
    from embedlab.training import trainer

    def boom(*a, **k):
        raise KeyboardInterrupt

    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 200}, "training": {"epochs": 1}})
    monkeypatch.setattr(trainer.Trainer, "fit", boom)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_altered_or_incomplete_runs_are_refused(trained, tmp_path):
    import shutil

    _, out, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    labels = copy / "labels.json"
    labels.write_text(labels.read_text().replace("World", "Wrold"))
    with pytest.raises(ArtifactError, match="labels.json: checksum mismatch"):
        embedlab.load(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match="incomplete run"):
        embedlab.load(copy)
    with pytest.raises(ArtifactError, match="not found"):
        embedlab.load(tmp_path / "nothing")


def test_evaluation_with_a_label_the_model_never_saw(trained):
    from embedlab.data import TextDataset
    from embedlab.training.run import predictor_metrics

    _, out, _ = trained
    bad = TextDataset(["a text", "another"], ["World", "Weather"], "eval.csv")
    with pytest.raises(DataError, match="eval.csv: row 2: label 'Weather' was never seen"):
        predictor_metrics(embedlab.load(out), bad)


def test_existing_run_directory_is_not_overwritten_by_default(trained, tmp_path):
    clf, _, _ = trained
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    for overwrite in (False, True):  # not ours: refused even with overwrite
        with pytest.raises(ArtifactError, match="embedlab did not write"):
            clf.save(tmp_path / "x", overwrite=overwrite)
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["keep.txt"]
    clf.save(tmp_path / "run")
    with pytest.raises(ArtifactError, match="already exists"):
        clf.save(tmp_path / "run")
    clf.save(tmp_path / "run", overwrite=True)  # our own run: replaced on request
    assert embedlab.load(tmp_path / "run").classes == clf.predictor_.classes
