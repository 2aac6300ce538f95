"""Decisions through a real run: fitted on the validation split, saved in decisions.json, used
by every predictor kind (PyTorch, ONNX, HTTP), the CLI and batch files; bad input is one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import embedlab
from embedlab.errors import ArtifactError, ConfigError, DataError


@pytest.fixture(scope="module")
def run(trained_run):
    """A tiny fastText-style run on 600 AG News sample rows (validation: 90 texts)."""
    return trained_run("fasttext", **{"data.limit": 600, "training.epochs": 4})


TEXTS = ["Stocks fall as oil prices climb to a record high on supply fears",
         "The striker scored twice as the home team won the cup final",
         "New chip design promises faster phones and longer battery life"]


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_a_run_fits_and_records_its_decisions(run):
    files = set(json.loads((run / "manifest.json").read_text())["files"])
    assert {"decisions.json", "reliability.png"} <= files
    metrics = json.loads((run / "metrics.json").read_text())["decisions"]
    assert metrics["split"] == "test" and metrics["temperature"] > 0
    for side in ("before", "after"):
        assert set(metrics[side]) == {"ece", "brier", "log_loss"}
    assert set(metrics["sets"]) == {"0.9", "0.95"} and 0 < metrics["aurc"] < 1
    p = embedlab.load(run)
    enc = p.encode_arrays(TEXTS)
    logits = p.logits(enc)
    # the default calibration is bcts: the probabilities shown are the logits plus a centred
    # offset per class, divided by the temperature (the offsets are kept as class_bias)
    dec = p.decisions
    assert metrics["before"] != metrics["after"]
    assert dec.figures["calibration"] == "bcts" and dec.class_bias is not None
    assert abs(sum(dec.class_bias)) < 1e-3
    assert np.allclose(p.predict_proba(TEXTS),
                       softmax((logits + np.array(dec.class_bias)) / dec.temperature), atol=1e-5)


def test_temperature_alone_never_moves_the_arg_max(tiny):
    """decisions.calibration=temperature: the probabilities are the logits / T, every arg-max
    the model's own."""
    from embedlab.config import RunConfig
    from embedlab.training.run import fit

    val = tiny.subset(list(range(0, 40, 2)))
    cfg = RunConfig.from_dict({"embeddings": {"dim": 8}, "training": {"epochs": 2, "progress": False},
                               "decisions": {"calibration": "temperature"}})
    p = fit(cfg, tiny, val).predictor
    logits = p.logits(p.encode_arrays(TEXTS))
    assert p.decisions.class_bias is None and p.decisions.figures["calibration"] == "temperature"
    assert np.allclose(p.predict_proba(TEXTS), softmax(logits / p.decisions.temperature), atol=1e-5)
    assert (p.predict_proba(TEXTS).argmax(1) == logits.argmax(1)).all()


def test_prediction_sets_and_abstaining(run):
    p = embedlab.load(run)
    small = p.predict(TEXTS, coverage=0.5)
    large = p.predict(TEXTS, coverage=0.95)
    for a, b in zip(small, large, strict=True):
        # a set holds every class at least as probable as any of its members; more coverage,
        # a set at least as large
        assert set(a.prediction_set) <= set(b.prediction_set)
        probs = b.probabilities
        if b.prediction_set:
            low = min(probs[c] for c in b.prediction_set)
            assert set(b.prediction_set) == {c for c, v in probs.items() if v >= low}
    assert all(x.label is None and x.status == "abstained" for x in p.predict(TEXTS, min_confidence=1.0))
    assert all(x.label is not None for x in p.predict(TEXTS, min_confidence=0.0))
    assert p.predict(TEXTS)[0].prediction_set is None  # no coverage asked, no set


@pytest.mark.parametrize("kw, error, message", [
    ({"coverage": 1.0}, ConfigError, "strictly between 0 and 1"),
    ({"coverage": 0.999}, DataError, "needs at least 999 validation texts; this run was calibrated on"),
    ({"min_confidence": 1.5}, ConfigError, r"min_confidence must be a probability in \[0, 1\]"),
])
def test_bad_decision_requests_are_one_line_errors(run, kw, error, message):
    with pytest.raises(error, match=message):
        embedlab.load(run).predict(TEXTS, **kw)


def test_cli_predict_with_coverage_and_a_file(run, tmp_path):
    from embedlab.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["predict", str(run), TEXTS[0], "--coverage", "0.9", "--json"])
    assert r.exit_code == 0, r.output
    record = json.loads(r.output.strip().splitlines()[-1])
    assert record["prediction_set"] and "ood_score" in record
    r = runner.invoke(app, ["predict", str(run), TEXTS[0], "--coverage", "1"])
    assert r.exit_code == 1 and "coverage must lie strictly between 0 and 1" in r.output
    r = runner.invoke(app, ["predict", str(run), TEXTS[0], "--coverage", "2"])
    assert r.exit_code == 2 and "coverage" in r.output
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS) + "\n\n")
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["predict", str(run), "--file", str(src), "--out", str(out),
                            "--coverage", "0.9", "--min-confidence", "0.99"])
    assert r.exit_code == 0, r.output
    import csv

    rows = list(csv.DictReader(out.open()))
    api = embedlab.load(run).predict(TEXTS, coverage=0.9, min_confidence=0.99)
    assert [r["status"] for r in rows] == [x.status for x in api] + ["empty"]
    assert [r["prediction_set"] for r in rows[:3]] == ["|".join(x.prediction_set) for x in api]
    assert [r["label"] for r in rows[:3]] == [x.label or "" for x in api]


def test_onnx_export_carries_the_decisions(run, tmp_path):
    pytest.importorskip("onnxruntime")
    from embedlab.export import export_onnx

    export_onnx(run, tmp_path / "x")
    ours, theirs = embedlab.load(run), embedlab.load(tmp_path / "x")
    assert theirs.decisions is not None
    assert np.abs(ours.predict_proba(TEXTS) - theirs.predict_proba(TEXTS)).max() < 1e-4
    a, b = ours.predict(TEXTS, coverage=0.9), theirs.predict(TEXTS, coverage=0.9)
    assert [x.prediction_set for x in a] == [x.prediction_set for x in b]
    assert [x.status for x in a] == [x.status for x in b]


def _rewrite(run, tmp_path, edit):
    """A copy of ``run`` whose decisions.json is edited and re-listed with its new checksum."""
    import hashlib

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    path = copy / "decisions.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    manifest = json.loads((copy / "manifest.json").read_text())
    entry = manifest["files"]["decisions.json"]
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    if "size" in entry:
        entry["size"] = path.stat().st_size
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(temperature=-1.0), "temperature must be finite and > 0"),
    (lambda d: d.update(conformal_scores=[0.9, 0.1]), "sorted"),
    (lambda d: d.update(format="pickle"), "not an embedlab decisions file"),
    (lambda d: d["ood"].pop("energies"), "malformed"),
    (lambda d: d.update(class_bias=[0.5, -0.5]), "class_bias has 2 values for 4 classes"),
    # a multi-label run's per-label temperatures on this single-label run: sigmoids would
    # silently replace its softmax
    (lambda d: d.update(label_temperatures=[1.0] * 4),
     "a multi-label run's decisions, but labels.json is single-label"),
])
def test_a_damaged_decisions_file_is_refused(run, tmp_path, edit, message):
    with pytest.raises(ArtifactError, match=message):
        embedlab.load(_rewrite(run, tmp_path, edit))


def test_an_unlisted_or_linked_decisions_file_is_not_read(run, tmp_path):
    copy = tmp_path / "unlisted"
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"]["decisions.json"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert embedlab.load(copy).decisions is None  # only what the manifest lists is read
    linked = tmp_path / "linked"
    shutil.copytree(run, linked)
    (linked / "decisions.json").unlink()
    (linked / "decisions.json").symlink_to(run / "decisions.json")
    with pytest.raises(ArtifactError):
        embedlab.load(linked)


def test_calibration_without_a_validation_split(tmp_path, tiny):
    from embedlab.config import RunConfig
    from embedlab.training.run import fit

    cfg = RunConfig.from_dict({"embeddings": {"dim": 8}, "training": {"epochs": 1, "progress": False},
                               "decisions": {"calibration": "temperature"}})
    with pytest.raises(ConfigError, match="decisions.calibration=temperature is fitted on the "
                                          "validation split, and this run has none"):
        fit(cfg, tiny)
    with pytest.raises(ConfigError, match="decisions.calibration=bcts is fitted on the "
                                          "validation split, and this run has none"):
        fit(cfg.model_copy(update={"decisions": cfg.decisions.model_copy(
            update={"calibration": "bcts"})}), tiny)
    auto = fit(cfg.model_copy(update={"decisions": cfg.decisions.model_copy(
        update={"calibration": "auto"})}), tiny)
    assert auto.predictor.decisions is None
    with pytest.raises(DataError, match="prediction sets need a run calibrated on a validation split"):
        auto.predictor.predict(["oil prices"], coverage=0.9)


def test_class_weights_per_class_and_oversampling(tiny):
    from embedlab.config import RunConfig
    from embedlab.text import LabelEncoder
    from embedlab.training.run import fit

    labels = LabelEncoder.fit(tiny.labels)
    with pytest.raises(ConfigError, match="training.class_weights: 'Sprots' is not a class "
                                          r"\(did you mean 'Sports'\?\)"):
        labels.class_weights(labels.encode(tiny.labels), {"Sprots": 2.0})
    w = labels.class_weights(labels.encode(tiny.labels), {"Sports": 3.0})
    assert w.tolist() == [3.0 if c == "Sports" else 1.0 for c in labels.classes]
    with pytest.raises(ConfigError, match="must be > 0"):
        RunConfig.from_dict({"training": {"class_weights": {"Sports": 0}}})
    y = np.array([0] * 10 + [1] * 2 + [2] * 5)
    rows = LabelEncoder(["a", "b", "c"]).oversampled(y, seed=0)
    assert np.bincount(y[rows]).tolist() == [10, 10, 10] and (rows[:17] == np.arange(17)).all()
    cfg = RunConfig.from_dict({"embeddings": {"dim": 8}, "data": {"val_size": 0},
                               "training": {"epochs": 1, "progress": False, "oversample": True,
                                            "class_weights": {"Sports": 2.0}}})
    oversampled = fit(cfg, tiny).predictor
    assert oversampled.predict(["the team won"])[0].label in labels.classes
    # the wide term's idf counts the real training rows, not the resampled copies
    first = labels.classes[0]
    skewed = tiny.subset([i for i, c in enumerate(tiny.labels)
                          if c != first or i % 5 == 0])  # a rare class to resample
    idfs = [fit(cfg.model_copy(update={"training": cfg.training.model_copy(
        update={"oversample": flag})}), skewed).predictor.model.wide_idf for flag in (True, False)]
    assert torch.equal(*idfs)


def test_macro_f1_bias_recovers_a_rare_class():
    """Logits that under-call class 2 (its true texts score 1.5 lower): the chosen bias gives
    it back and macro-F1 rises."""
    from sklearn.metrics import f1_score

    from embedlab.decisions.fitted import fit_decisions, macro_f1_bias

    rng = np.random.default_rng(0)
    y = rng.choice(3, size=600, p=[0.45, 0.45, 0.1])
    z = rng.normal(size=(600, 3)) + 2.0 * np.eye(3)[y]
    z[:, 2] -= 1.5
    bias = macro_f1_bias(z, y)
    before = f1_score(y, z.argmax(1), average="macro")
    after = f1_score(y, (z + bias).argmax(1), average="macro")
    assert bias[2] > bias[0] and after > before + 0.03
    dec = fit_decisions(z, y, np.ones(600), np.ones(600), class_bias=True)
    assert dec.class_bias is not None
    assert (dec.probabilities(z).argmax(1) == (z + bias).argmax(1)).mean() > 0.99


def test_http_answers_with_sets_status_and_the_card(run):
    from fastapi.testclient import TestClient

    from embedlab.serve import create_app

    with TestClient(create_app({"ag": run}, warm_up=False)) as c:
        r = c.post("/v1/models/ag/predict", json={"texts": TEXTS, "coverage": 0.9})
        assert r.status_code == 200, r.text
        api = embedlab.load(run).predict(TEXTS, coverage=0.9)
        got = r.json()["predictions"]
        assert [g["prediction_set"] for g in got] == [x.prediction_set for x in api]
        assert [g["ood_score"] for g in got] == pytest.approx([x.ood_score for x in api])
        r = c.post("/v1/models/ag/predict", json={"texts": TEXTS, "min_confidence": 1.0})
        assert {g["status"] for g in r.json()["predictions"]} == {"abstained"}
        assert {g["label"] for g in r.json()["predictions"]} == {None}
        r = c.post("/v1/models/ag/predict", json={"texts": TEXTS, "coverage": 0.999})
        assert r.status_code == 422 and r.json()["detail"].startswith("body.coverage: coverage 0.999 needs")
        r = c.post("/v1/models/ag/predict", json={"texts": TEXTS, "coverage": 1.5})
        assert r.status_code == 422 and "coverage" in r.json()["detail"]
        card = c.get("/v1/models/ag").json()["decisions"]
        assert card["calibrated"] and card["ood"]["false_flag_rate"] == 0.05
        assert card["evaluation"]["split"] == "test" and "0.9" in card["evaluation"]["sets"]


def test_a_multilabel_run_calibrates_each_label_before_choosing_thresholds(tmp_path):
    from embedlab.config import RunConfig
    from embedlab.training.run import train_run

    cfg = {"data": {"dataset": "goemotions", "limit": 1500}, "embeddings": {"dim": 16},
           "training": {"epochs": 2, "progress": False}}
    train_run(RunConfig.from_dict(cfg), tmp_path / "r")
    p = embedlab.load(tmp_path / "r")
    assert p.multilabel and p.decisions.multilabel and p.thresholds is not None
    temps = np.asarray(p.decisions.label_temperatures)
    assert temps.shape == (len(p.classes),) and (temps > 0).all()
    texts = ["I love this so much, thank you!", "This is awful and I am so angry"]
    logits = p.logits(p.encode_arrays(texts))
    assert np.allclose(p.predict_proba(texts), 1 / (1 + np.exp(-logits / temps)), atol=1e-5)
    preds = p.predict(texts)
    assert all(x.labels and x.ood_score is not None for x in preds)
    with pytest.raises(DataError, match="prediction sets with a coverage are for single-label runs"):
        p.predict(texts, coverage=0.9)
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())["decisions"]
    assert metrics["label_temperatures"] == pytest.approx(temps.tolist())
    assert set(metrics["before"]) == set(metrics["after"]) == {"ece", "brier", "log_loss"}
    with pytest.raises(ConfigError, match="training.oversample resamples single-label classes"):
        train_run(RunConfig.from_dict({**cfg, "training": {**cfg["training"], "oversample": True}}))
    with pytest.raises(ConfigError, match="training.class_weights weighs single-label classes"):
        train_run(RunConfig.from_dict({**cfg, "training": {**cfg["training"],
                                                           "class_weights": "balanced"}}))


@pytest.mark.parametrize("model, params", [("fasttext", {}),
                                           ("bag", {"pooling": "flatten", "max_length": 12})])
def test_decisions_from_the_fits_encoding_are_the_predictors_own(tiny, model, params):
    """A fit hands its validation rows, as it encoded them for training, to the decisions: the
    same ids, lengths and known-token counts as the predictor's own encoding of the texts
    (unknown words, an empty text, one cut at ``vocab.max_length``, a fixed-length model), so
    the decisions are the ones fitted from the texts again."""
    from embedlab.config import RunConfig, resolve_config
    from embedlab.data import TextDataset
    from embedlab.inference.forward import EncodedTexts
    from embedlab.training.run import fit, fit_run_decisions

    odd = ["qwzx vbnm unheard words", "", "the " * 30 + "game", tiny.texts[0].upper()]
    val = TextDataset(tiny.texts[::2] + odd, tiny.labels[::2] + tiny.labels[:4], "val")
    cfg = resolve_config(RunConfig.from_dict({
        "embeddings": {"dim": 8}, "vocab": {"max_length": 20},
        "model": {"name": model, "params": params},
        "training": {"epochs": 2, "progress": False}}))
    p = fit(cfg, tiny, val).predictor
    own = p.encode_arrays(val.texts)
    given = EncodedTexts.build(p.vocab, p.preprocessor.batch(val.texts), None,
                               p.fixed_length).arrays()
    for name in ("lengths", "known"):
        assert np.array_equal(getattr(given, name), getattr(own, name)), name
    every = np.arange(len(own))
    assert np.array_equal(given.batch(every, p.fixed_length), own.batch(every, p.fixed_length))
    assert own.known[-4] == 0 and own.lengths[-3] == 0
    assert own.batch(every, p.fixed_length).shape[1] in (12, 20)
    again = fit_run_decisions(cfg, p, val)  # from the texts, by the predictor's own encoding
    assert again.temperature == p.decisions.temperature
    assert again.conformal_scores == p.decisions.conformal_scores
    assert again.ood.to_dict() == p.decisions.ood.to_dict()
