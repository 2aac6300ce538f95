"""Multi-label data, training, thresholds, metrics and prediction: readers of every layout, the
iterative stratification, tiny real multi-label runs of every model family."""

from __future__ import annotations

import contextlib
import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest

import embedlab
from embedlab.config import RunConfig
from embedlab.data import TextDataset, iterative_stratification, load_data, multilabel_split
from embedlab.errors import ConfigError, DataError
from embedlab.training.thresholds import choose_thresholds

TOPICS = {
    "sport": "goal match team coach league score",
    "money": "bank price market stock profit loan",
    "food": "pizza bread cheese soup salad recipe",
    "music": "guitar song album band concert drum",
    "travel": "flight hotel beach train passport tour",
}
FILLER = "the a of and to it is was for on with that this".split()


def synthetic_rows(n: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    """Texts about 1-3 topics (words drawn from each topic) with those topics as labels."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    rows = []
    for _ in range(n):
        k = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
        labels = sorted(rng.sample(names, k))
        words = [w for lab in labels for w in rng.sample(TOPICS[lab].split(), 3)]
        words += rng.sample(FILLER, 4)
        rng.shuffle(words)
        rows.append((" ".join(words), labels))
    return rows


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def embedlab_log():
    """The "embedlab" logger's messages at INFO and above, as a list of lines, whatever an
    earlier test or library did to logging (propagation off, the logger disabled, a global
    ``logging.disable``): all restored afterwards."""
    logger = logging.getLogger("embedlab")
    saved = (logger.level, logger.disabled, logging.root.manager.disable)
    handler = _Lines()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False
    logging.disable(logging.NOTSET)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.disabled = saved[1]
        logging.disable(saved[2])


def write_csv(path: Path, rows, sep: str = "|") -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for text, labels in rows:
            w.writerow([text, sep.join(labels)])
    return path


@pytest.fixture(scope="module")
def ml_csv(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("ml") / "topics.csv", synthetic_rows(600))


# --------------------------------------------------------------------------- reading


def test_a_label_column_split_on_the_separator_is_multilabel_and_the_log_says_why(tmp_path):
    path = write_csv(tmp_path / "t.csv", [("good goal", ["sport"]), ("bank song", ["money", "music"])])
    with embedlab_log() as log:
        ds = load_data(path, label_sep="|")
    assert ds.multilabel and ds.labels == []
    assert ds.label_sets == [["sport"], ["money", "music"]]
    assert ds.classes == ["money", "music", "sport"]
    assert any("multi-label data (labels split on '|')" in line for line in log)
    single = load_data(write_csv(tmp_path / "s.csv", [("a b", ["x"]), ("c d", ["y"])]))
    assert not single.multilabel and single.labels == ["x", "y"]  # unchanged without a separator


def test_json_lines_and_json_arrays_with_label_lists_are_multilabel(tmp_path):
    jl = tmp_path / "d.jsonl"
    jl.write_text('{"text": "goal bank", "label": ["sport", "money"]}\n'
                  '{"text": "pizza", "label": "food"}\n', encoding="utf-8")
    arr = tmp_path / "d.json"
    arr.write_text('[{"text": "song", "label": ["music"]}, {"text": "tour beach", '
                   '"label": ["travel", "travel"]}]', encoding="utf-8")
    with embedlab_log() as log:
        a, b = load_data(jl), load_data(arr)
    assert a.label_sets == [["money", "sport"], ["food"]]
    assert b.label_sets == [["music"], ["travel"]]  # a repeated label counts once
    assert any("rows carry lists of labels" in line for line in log)
    with pytest.raises(DataError, match="holds a list of labels but multilabel is false"):
        load_data(jl, multilabel=False)


def test_fasttext_label_lines_give_every_leading_label(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("__label__sport __label__money goal bank\n__label__food pizza soup\n",
                    encoding="utf-8")
    ds = load_data(path)
    assert ds.texts == ["goal bank", "pizza soup"]
    assert ds.label_sets == [["money", "sport"], ["food"]]
    one = tmp_path / "one.txt"
    one.write_text("__label__pos great film\n__label__neg dull\n", encoding="utf-8")
    assert load_data(one).labels == ["pos", "neg"]  # one label a line: single-label


def test_the_goemotions_layout_ids_and_a_names_file(tmp_path):
    data = tmp_path / "train.tsv"
    data.write_text("so happy for you\t17,0\tid1\nwhat is this\t6\tid2\n", encoding="utf-8")
    names = tmp_path / "emotions.txt"
    names.write_text("\n".join(f"e{k}" for k in range(17)) + "\njoy", encoding="utf-8")
    from embedlab.data import load_table

    ds = load_table(data, [0], 1, header=False, label_sep=",",
                    label_map={str(k): n for k, n in enumerate([*(f"e{k}" for k in range(17)), "joy"])})
    assert ds.label_sets == [["e0", "joy"], ["e6"]]
    cfg_names = load_data(data, text_columns=[0], label_column=1, header=False, label_sep=",",
                          label_names=names)
    assert cfg_names.label_sets == ds.label_sets


@pytest.mark.parametrize(("content", "kw", "message"), [
    ("text,label\ngoal,sport\nbank,\n", {"label_sep": "|"}, "row with no label at row 2"),
    ("text,label\ngoal,sport||money\n", {"label_sep": "|"}, "empty label at row 1"),
    ("text,label\ncity,LOC::city\n", {"label_hierarchy": ":"}, "has an empty level"),
])
def test_bad_multilabel_rows_are_one_line_errors(tmp_path, content, kw, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        load_data(path, **kw)
    assert "\n" not in str(err.value)


def test_separator_clashes_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="one separator cannot split"):
        RunConfig.from_dict({"data": {"path": "x.csv", "label_sep": ":",
                                      "label_hierarchy": ":"}})
    jl = tmp_path / "d.jsonl"
    jl.write_text('{"text": "a", "label": ["x,y", "z"]}\n', encoding="utf-8")
    with pytest.raises(DataError, match="contains the label separator ','"):
        load_data(jl, label_sep=",")
    with pytest.raises(ConfigError, match="multilabel is false"):
        load_data(jl, label_sep=",", multilabel=False)


def test_goemotions_is_built_in_and_matches_its_readme(mirror):
    from embedlab.data import load_dataset

    train = load_dataset("goemotions", "train")
    assert len(train) == 43_410 and train.multilabel
    assert sum(len(s) >= 2 for s in train.label_sets) == 7_102
    assert train.class_counts()["grief"] == 77 and train.class_counts()["neutral"] == 14_219
    dev = load_dataset("goemotions", "validation")
    assert len(dev) == 5_426
    # a text stored CSV-style in the TSV is read as its text
    assert any(t.startswith('"I didn\'t learn anything from the last') for t in dev.texts)


# --------------------------------------------------------------------------- splits


def test_iterative_stratification_keeps_rare_labels_in_every_part():
    rng = np.random.default_rng(0)
    y = rng.random((300, 6)) < [0.4, 0.3, 0.2, 0.1, 0.05, 0.0]
    y[:3, 5] = True  # a label with exactly three examples
    parts = iterative_stratification(y, [0.7, 0.15, 0.15], seed=0)
    every = np.sort(np.concatenate(parts))
    assert (every == np.arange(300)).all()  # disjoint and covering
    for part in parts:
        assert y[part].any(0).all()  # every label, the 3-example one too, in every part
    assert abs(len(parts[0]) - 210) <= 3
    # per-label shares close to the proportions
    share = y[parts[1]].sum(0)[:4] / y.sum(0)[:4]
    assert np.all(np.abs(share - 0.15) < 0.05)
    sets = [[c for c, v in zip("abcdef", row, strict=True) if v] or ["a"] for row in y]
    tr, va, te = multilabel_split(sets, seed=1)
    again = multilabel_split(sets, seed=1)
    assert all((x == z).all() for x, z in zip((tr, va, te), again, strict=True))


# --------------------------------------------------------------------------- thresholds


def test_thresholds_are_chosen_by_the_requested_metric():
    rng = np.random.default_rng(0)
    y = rng.random((400, 3)) < [0.5, 0.2, 0.05]
    y[np.arange(400), rng.integers(0, 3, 400)] |= ~y.any(1)
    probs = np.clip(y * 0.35 + rng.random((400, 3)) * 0.6, 0, 1).astype(np.float32)
    t = choose_thresholds(y, probs, ["a", "b", "c"], "micro_f1")
    assert 0.0 < t.global_threshold < 1.0 and set(t.per_label) == {"a", "b", "c"}
    assert t.use in ("global", "per_label")
    assert t.scores[t.use] == max(t.scores.values())
    macro = choose_thresholds(y, probs, ["a", "b", "c"], "macro_f1")
    assert macro.metric == "macro_f1"


# --------------------------------------------------------------------------- training


def _ml_config(path: Path, family: str, **extra) -> RunConfig:
    settings = {"data": {"path": str(path), "label_sep": "|"},
                "embeddings": {"dim": 16, "source": None},
                "model": {"name": family}, "training": {"epochs": 6, "progress": False}}
    for key, value in extra.items():
        section, name = key.split(".")
        settings.setdefault(section, {})[name] = value
    return RunConfig.from_dict(settings)


@pytest.fixture(scope="module")
def ml_run(ml_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mlrun") / "run"
    embedlab.train(_ml_config(ml_csv, "fasttext", **{"training.epochs": 10}), out)
    return out


def test_a_multilabel_run_learns_and_saves_its_thresholds(ml_run):
    metrics = json.loads((ml_run / "metrics.json").read_text())
    test = metrics["test"]
    assert test["multilabel"] and test["micro"]["f1"] > 0.8, test["micro"]
    for key in ("macro", "samples", "per_class", "subset_accuracy", "hamming_loss",
                "cardinality", "thresholds"):
        assert key in test
    assert (ml_run / "pr_curves.png").stat().st_size > 1000
    assert not (ml_run / "confusion_matrix.png").exists()
    saved = json.loads((ml_run / "thresholds.json").read_text())
    assert saved["format"] == "embedlab-thresholds-v1" and saved["metric"] == "micro_f1"
    assert set(saved["per_label"]) == set(TOPICS)


@pytest.mark.parametrize("damage, message", [
    ("remove", "thresholds.json"),
    ("unlist", "thresholds.json is not listed in manifest.json"),
    ("link", "symbolic link"),
])
def test_a_multilabel_run_reads_only_its_own_listed_thresholds(ml_run, tmp_path, damage, message):
    import shutil

    from embedlab.errors import ArtifactError

    copy = tmp_path / "run"
    shutil.copytree(ml_run, copy)
    outside = tmp_path / "outside.json"
    outside.write_text((ml_run / "thresholds.json").read_text())
    if damage in ("remove", "unlist"):
        manifest = json.loads((copy / "manifest.json").read_text())
        del manifest["files"]["thresholds.json"]
        (copy / "manifest.json").write_text(json.dumps(manifest))
    if damage == "remove":
        (copy / "thresholds.json").unlink()
    if damage == "link":
        (copy / "thresholds.json").unlink()
        (copy / "thresholds.json").symlink_to(outside)
    with pytest.raises(ArtifactError, match=message) as info:
        embedlab.load(copy)
    assert "\n" not in str(info.value)


def test_the_thresholds_chosen_on_validation_are_used_at_prediction(ml_run, tmp_path):
    import shutil

    from embedlab.artifacts import write_manifest

    texts = [text for text, _ in synthetic_rows(40, seed=5)]
    p = embedlab.load(ml_run)
    probs = p.predict_proba(texts)
    cut = p.thresholds.vector(p.classes)
    expected = (probs >= cut) | (probs == probs.max(1, keepdims=True))
    got = p.predict_label_sets(texts)
    assert got == [[c for c, on in zip(p.classes, row, strict=True) if on] for row in expected]
    # edit the run's thresholds: predictions follow the file
    copy = tmp_path / "run"
    shutil.copytree(ml_run, copy)
    data = json.loads((copy / "thresholds.json").read_text())
    data.update({"use": "global", "global": 0.0})
    (copy / "thresholds.json").write_text(json.dumps(data))
    write_manifest(copy)
    everything = embedlab.load(copy).predict_label_sets(texts)
    assert all(len(s) == len(TOPICS) for s in everything)


def test_prediction_carries_the_set_and_every_probability_with_overrides(ml_run):
    p = embedlab.load(ml_run)
    pred = p.predict(["goal team coach bank price stock the of"])[0]
    assert set(pred.labels) == {"sport", "money"}
    assert set(pred.probabilities) == set(TOPICS)
    assert pred.to_dict()["labels"] == list(pred.labels)
    assert len(p.predict(["goal team bank price"], top_k=1)[0].labels) == 1
    assert set(p.predict(["goal"], threshold=0.0)[0].labels) == set(TOPICS)
    for bad in (1.5, -0.1):
        with pytest.raises(ConfigError, match=r"threshold must be in \[0, 1\]"):
            p.predict(["goal"], threshold=bad)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["cnn", "bag", "rnn"])
def test_every_family_trains_multilabel(ml_csv, tmp_path, family):
    r = embedlab.train(_ml_config(ml_csv, family, **{"training.epochs": 8, "training.lr": 0.01}),
                       tmp_path / family)
    assert r.metrics["test"]["micro"]["f1"] > 0.5, (family, r.metrics["test"]["micro"])
    assert embedlab.load(tmp_path / family).predict(["pizza soup"])[0].labels


def test_pos_weight_reaches_the_loss_and_is_capped():
    import torch

    from embedlab.text import LabelEncoder
    from embedlab.training.trainer import batch_loss

    enc = LabelEncoder(["a", "b"], multilabel=True)
    y = np.zeros((1000, 2), dtype=np.float32)
    y[:500, 0] = 1
    y[:2, 1] = 1
    w = enc.pos_weights(y, cap=10.0)
    assert w[0] == pytest.approx(1.0) and w[1] == pytest.approx(10.0)
    logits, target = torch.zeros(4, 2), torch.tensor([[0.0, 1.0]] * 4)
    assert float(batch_loss(logits, target, torch.tensor(w))) > float(
        batch_loss(logits, target, None))


def test_single_and_multilabel_rows_do_not_mix():
    from embedlab.text import LabelEncoder
    from embedlab.training.run import encode_labels

    ml = LabelEncoder(["a", "b"], multilabel=True)
    with pytest.raises(DataError, match="single-label rows for a multi-label model"):
        encode_labels(ml, TextDataset(["x"], ["a"], "s"))
    with pytest.raises(DataError, match="never seen in training"):
        ml.encode_sets([["c"]])


# --------------------------------------------------------------------------- estimator


@pytest.fixture(scope="module")
def ml_xy():
    rows = synthetic_rows(400, seed=3)
    return [t for t, _ in rows], [labels for _, labels in rows]


def _fast_estimator():
    from embedlab import TextClassifier

    return TextClassifier(model="fasttext", epochs=8, embeddings=None, embedding_dim=16)


def test_estimator_fits_label_lists_and_predicts_the_indicator_matrix(ml_xy, tmp_path):
    from sklearn.base import clone
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    X, Y = ml_xy
    clf = _fast_estimator()
    assert clf.fit(X[:300], Y[:300]) is clf
    assert list(clf.classes_) == sorted(TOPICS)
    pred = clf.predict(X[300:])
    assert pred.shape == (100, len(TOPICS)) and set(np.unique(pred)) <= {0, 1}
    truth = MultiLabelBinarizer(classes=clf.classes_).fit_transform(Y[300:])
    assert f1_score(truth, pred, average="micro") > 0.8
    proba = clf.predict_proba(X[300:])
    assert proba.shape == pred.shape and ((proba >= 0) & (proba <= 1)).all()
    assert 0.0 <= clf.score(X[300:], truth) <= 1.0  # subset accuracy, as scikit-learn
    again = clf.load(clf.save(tmp_path / "est"))
    assert again.multilabel_ and (again.predict(X[300:]) == pred).all()
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "predictor_")


def test_estimator_takes_an_indicator_matrix(ml_xy):
    from sklearn.preprocessing import MultiLabelBinarizer

    X, Y = ml_xy
    ind = MultiLabelBinarizer().fit_transform(Y)
    clf = _fast_estimator().fit(X[:300], ind[:300])
    assert list(clf.classes_) == list(range(ind.shape[1]))
    pred = clf.predict(X[300:])
    assert pred.shape == (100, ind.shape[1])
    assert (pred == ind[300:]).all(1).mean() > 0.6
    import pandas as pd

    from embedlab.estimator import multilabel_target

    # nested 0/1 lists and a DataFrame of 0/1 columns are the same indicator matrix
    for same in (ind[:5].tolist(), pd.DataFrame(ind[:5])):
        classes, got = multilabel_target(same, 5)
        assert list(classes) == list(range(ind.shape[1])) and (got == ind[:5].astype(bool)).all()
    with pytest.raises(DataError, match="must hold only 0 and 1"):
        _fast_estimator().fit(X[:10], np.full((10, 3), 2))
    with pytest.raises(DataError, match="mixes label lists and single labels"):
        _fast_estimator().fit(X[:3], [["a"], "b", ["c"]])


def test_estimator_refuses_a_label_without_positives_before_training(ml_xy, monkeypatch):
    """An all-zero indicator column (or a label whose positives all went to validation) is a
    one-line error before anything trains."""
    from sklearn.preprocessing import MultiLabelBinarizer

    import embedlab.training.run as run

    X, Y = ml_xy
    ind = MultiLabelBinarizer().fit_transform(Y)[:60]
    ind = np.hstack([ind, np.zeros((60, 1), dtype=ind.dtype)])
    monkeypatch.setattr(run, "fit", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(DataError, match=f"label.s. {ind.shape[1] - 1} have no example left"):
        _fast_estimator().fit(X[:60], ind)


# --------------------------------------------------------------------------- command line


def _cli(*args: object, code: int = 0):
    from typer.testing import CliRunner

    from embedlab.cli.main import app

    r = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"},
                           prog_name="embedlab")
    assert r.exit_code == code, r.output
    return r


@pytest.mark.slow
def test_cli_trains_predicts_and_evaluates_multilabel(ml_csv, tmp_path):
    import pandas as pd

    out = tmp_path / "run"
    r = _cli("train", "--data", ml_csv, "--label-sep", "|", "--model", "fasttext",
             "--embedding-dim", "16", "--set", "embeddings.source=null", "--epochs", "8",
             "--threshold-metric", "macro_f1", "--out", out)
    assert "micro avg" in r.stdout and "Hamming loss" in r.stdout
    assert json.loads((out / "thresholds.json").read_text())["metric"] == "macro_f1"
    r = _cli("predict", out, "goal team coach bank price stock")
    assert r.stdout.split()[0] in ("money,sport", "sport,money")
    r = _cli("predict", out, "goal", "--threshold", "1.5", code=1)
    assert "threshold must be in [0, 1]" in r.output and len(r.output.strip().splitlines()) == 1
    r = _cli("predict", out, "goal team bank price", "--top-k", "1", "--json")
    assert len(json.loads(r.stdout)["labels"]) == 1
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["goal team bank price", "pizza soup cheese", ""]}).to_csv(src, index=False)
    _cli("predict", out, "--file", src, "--out", tmp_path / "p.csv", "--probabilities",
         "--label-sep", ";")
    got = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    # ood_score: the run fitted an out-of-distribution detector on its validation split
    assert list(got.columns) == ["row", "labels", "status", "known_words",
                                 *(f"p_{c}" for c in sorted(TOPICS)), "ood_score"]
    assert set(got["labels"][0].split(";")) == {"money", "sport"} and got["labels"][1] == "food"
    assert got["status"][2] == "empty" and got["labels"][2] == ""
    r = _cli("evaluate", out, "--data", ml_csv, "--plot", tmp_path / "pr.png",
             "--out", tmp_path / "run.json")
    assert "subset accuracy" in r.stdout and (tmp_path / "pr.png").stat().st_size > 1000
    # an ONNX export keeps no data config: the file's separator is given to evaluate, and it
    # scores the file as the run does
    _cli("export", out, "--format", "onnx", "--out", tmp_path / "onnx")
    _cli("evaluate", tmp_path / "onnx", "--data", ml_csv, "--label-sep", "|",
         "--out", tmp_path / "onnx.json")
    got, want = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("onnx", "run"))
    assert got["multilabel"] and got["n"] == want["n"] == 600
    assert abs(got["micro"]["f1"] - want["micro"]["f1"]) < 0.01


def test_threshold_on_a_single_label_run_is_a_one_line_error(trained_run):
    r = _cli("predict", trained_run("fasttext"), "a text", "--threshold", "0.3", code=1)
    assert "apply to multi-label runs" in r.output and len(r.output.strip().splitlines()) == 1


# --------------------------------------------------------------------------- hierarchy

TREE = {"ANIMAL": {"cat": "whiskers purr meow kitten", "dog": "bark puppy leash fetch"},
        "PLACE": {"city": "streets downtown skyline mayor", "lake": "shore fishing pier canoe"}}
PARENT_WORDS = {"ANIMAL": "creature fur paws tail", "PLACE": "located map region visit"}


def tree_lines(n: int, seed: int = 0) -> list[str]:
    """``PARENT:child text`` lines (and a fifth ``PARENT text`` lines that name no child)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        parent = rng.choice(sorted(TREE))
        words = rng.sample(PARENT_WORDS[parent].split(), 2) + rng.sample(FILLER, 3)
        label = parent
        if i % 5:
            child = rng.choice(sorted(TREE[parent]))
            words += rng.sample(TREE[parent][child].split(), 2)
            label = f"{parent}:{child}"
        rng.shuffle(words)
        lines.append(f"{label} {' '.join(words)}")
    return lines


@pytest.fixture(scope="module")
def tree_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    (root / "train.txt").write_text("\n".join(tree_lines(500)) + "\n", encoding="utf-8")
    cfg = RunConfig.from_dict({"data": {"path": str(root / "train.txt"), "label_hierarchy": ":"},
                               "embeddings": {"dim": 16, "source": None},
                               "training": {"epochs": 10, "progress": False}})
    embedlab.train(cfg, root / "run")
    return root / "run"


def test_a_hierarchy_reads_each_label_with_its_ancestors(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("LOC:city Which city ?\nHUM Who is it ?\nA:b:c deep\n", encoding="utf-8")
    ds = load_data(path, label_hierarchy=":")
    assert ds.label_sets == [["LOC", "LOC:city"], ["HUM"], ["A", "A:b", "A:b:c"]]
    assert load_data(path).labels == ["LOC:city", "HUM", "A:b:c"]  # without it: unchanged


def test_a_hierarchical_prediction_never_names_a_child_without_its_parent(tree_run):
    p = embedlab.load(tree_run)
    assert p.labels.hierarchy == ":"
    texts = [line.split(" ", 1)[1] for line in tree_lines(60, seed=9)]
    texts += ["meow shore", "puppy skyline fetch", "the of and", "whiskers"]
    for cut in (None, 0.05, 0.5, 0.95):
        for labels in p.predict_label_sets(texts, threshold=cut):
            for lab in labels:
                if ":" in lab:
                    assert lab.split(":")[0] in labels, labels
    metrics = json.loads((tree_run / "metrics.json").read_text())["test"]
    assert set(metrics["levels"]) == {"1", "2"}
    assert metrics["levels"]["1"]["accuracy"] > 0.9


def test_backoff_answers_the_parent_when_no_child_is_likely(tree_run):
    p = embedlab.load(tree_run)
    assert p.classes == ["ANIMAL", "ANIMAL:cat", "ANIMAL:dog", "PLACE", "PLACE:city", "PLACE:lake"]
    probs = np.array([[0.95, 0.30, 0.20, 0.01, 0.01, 0.01]], dtype=np.float32)
    assert p.labels.decode_sets(p.decide(probs, threshold=0.5)) == [["ANIMAL"]]
    without = p.labels.decode_sets(p.decide(probs, threshold=0.5, backoff=False))
    assert without == [["ANIMAL", "ANIMAL:cat"]]  # the most probable child of the parent


def test_a_likely_child_brings_its_parent():
    from embedlab.inference.prediction import decide_sets

    parents = np.array([-1, 0, 0, -1])  # A, A:x, A:y, B
    probs = np.array([[0.2, 0.9, 0.1, 0.3]], dtype=np.float32)
    assert decide_sets(probs, 0.5, parents=parents).tolist() == [[True, True, False, False]]


def test_top_k_counts_the_most_probable_labels_and_their_parents_come_along():
    """``top_k`` chooses k labels; a hierarchy then adds each one's ancestors, so a set stays
    consistent (a child never without its parent) and may hold more than k names."""
    from embedlab.inference.prediction import decide_sets

    parents = np.array([-1, 0, 0, -1, 3])  # A, A:x, A:y, B, B:z
    probs = np.array([[0.6, 0.9, 0.7, 0.2, 0.8]], dtype=np.float32)
    assert decide_sets(probs, 0.5, top_k=1, parents=parents).tolist() == [
        [True, True, False, False, False]]  # A:x, and its parent A
    assert decide_sets(probs, 0.5, top_k=2, parents=parents).tolist() == [
        [True, True, False, True, True]]  # A:x and B:z, with A and B
    assert decide_sets(probs, 0.5, top_k=2).tolist() == [[False, True, False, False, True]]


def test_the_fasttext_written_out_step_makes_the_multilabel_autograd_update():
    """Indicator rows and per-label positive weights: the fasttext model's own SGD step moves
    every weight as autograd on the trainer's multi-label loss does."""
    import torch

    from embedlab.models import EmbeddingSpec, build_model
    from embedlab.training.trainer import batch_loss

    def model():
        torch.manual_seed(1)
        return build_model("fasttext", vocab_size=30, num_classes=4,
                           embedding=EmbeddingSpec(dim=8), params={"buckets": 50})

    reference, written = model(), model()
    written.load_state_dict(reference.state_dict())
    assert written.can_step_sgd()
    ids = torch.tensor([[5, 6, 7, 5, 9, 0], [2, 3, 0, 0, 0, 0], [1, 4, 4, 4, 8, 29]])
    y = torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0]])
    pos_weight = torch.tensor([1.0, 3.0, 2.0, 1.5])
    dense = [p for p in reference.parameters()
             if id(p) not in {id(q) for q in reference.sparse_parameters()}]
    opt = torch.optim.SGD(list(reference.parameters()), lr=0.7)
    loss = batch_loss(reference(ids), y, pos_weight)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(dense, 0.5)
    opt.step()
    total, correct = written.sgd_step(ids, y, 0.7, 0.0, pos_weight, clip=0.5)
    assert total == pytest.approx(3 * loss.item(), rel=1e-6) and 0 <= correct <= 3
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(written.state_dict()[name], value, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- HTTP


def test_http_answers_the_label_set_probabilities_and_thresholds(ml_run, trained_run):
    from fastapi.testclient import TestClient

    from embedlab.serve import create_app

    saved = json.loads((ml_run / "thresholds.json").read_text())
    with TestClient(create_app({"ml": ml_run, "single": trained_run("fasttext")},
                               warm_up=False)) as c:
        r = c.post("/v1/models/ml/predict", json={"texts": ["goal team coach bank price stock"]})
        assert r.status_code == 200, r.text
        pred = r.json()["predictions"][0]
        assert set(pred["labels"]) == {"sport", "money"}
        assert set(pred["probabilities"]) == set(TOPICS)
        expected = saved["global"] if saved["use"] == "global" else None
        if expected is not None:
            assert set(pred["thresholds"].values()) == {expected}
        else:
            assert pred["thresholds"] == saved["per_label"]
        r = c.post("/v1/models/ml/predict", json={"texts": ["goal"], "threshold": 0.0})
        assert set(r.json()["predictions"][0]["labels"]) == set(TOPICS)
        assert set(r.json()["predictions"][0]["thresholds"].values()) == {0.0}
        r = c.post("/v1/models/ml/predict", json={"texts": ["goal"], "threshold": 1.5})
        assert r.status_code == 422 and "threshold" in r.json()["detail"]
        r = c.post("/v1/models/single/predict", json={"texts": ["goal"], "threshold": 0.5})
        assert r.status_code == 422 and "multi-label" in r.json()["detail"]
        single = c.post("/v1/models/single/predict", json={"texts": ["stocks fall"]}).json()
        assert "labels" not in single["predictions"][0] or single["predictions"][0]["labels"] is None


# --------------------------------------------------------------------------- ONNX


def test_an_onnx_export_of_a_multilabel_run_gives_the_same_label_sets(ml_run, tmp_path):
    pytest.importorskip("onnxruntime")
    from embedlab.export import export_onnx

    report = export_onnx(ml_run, tmp_path / "onnx")
    assert report.max_abs_diff <= report.tolerance
    exported = embedlab.load(tmp_path / "onnx")
    assert exported.multilabel and (tmp_path / "onnx" / "thresholds.json").is_file()
    info = json.loads((tmp_path / "onnx" / "export.json").read_text())
    assert info["output"]["probabilities"].startswith("sigmoid")
    texts = [text for text, _ in synthetic_rows(50, seed=11)] + ["goal bank pizza song tour"]
    assert exported.predict_label_sets(texts) == embedlab.load(ml_run).predict_label_sets(texts)
    assert exported.predict(texts[:1], threshold=0.0)[0].labels is not None


# --------------------------------------------------------------------------- ensembles


def test_an_ensemble_of_multilabel_runs_averages_probabilities_and_rechooses_thresholds(
        ml_run, ml_csv, tmp_path, trained_run):
    from embedlab.inference.ensemble import make_ensemble

    other = tmp_path / "other"
    embedlab.train(_ml_config(ml_csv, "fasttext", **{"training.epochs": 6,
                                                     "training.seed": 1}), other)
    make_ensemble([ml_run, other], tmp_path / "ens")
    ens, a, b = (embedlab.load(p) for p in (tmp_path / "ens", ml_run, other))
    assert ens.multilabel
    texts = [text for text, _ in synthetic_rows(30, seed=4)]
    mean = (a.predict_proba(texts) + b.predict_proba(texts)) / 2
    np.testing.assert_allclose(ens.predict_proba(texts), mean, rtol=1e-5, atol=1e-6)
    # the thresholds are chosen again, on the members' validation split, for the averaged
    # probabilities: what choose_thresholds gives there, kept by the saved ensemble
    from embedlab.training.run import encode_labels, load_splits
    from embedlab.training.thresholds import choose_thresholds

    val = load_splits(a.config).validation
    expected = choose_thresholds(encode_labels(ens.labels, val), ens.predict_proba(val.texts),
                                 ens.classes, a.config.training.threshold_metric)
    np.testing.assert_allclose(ens.thresholds.vector(ens.classes),
                               expected.vector(ens.classes), atol=1e-6)
    assert ens.thresholds.metric == a.config.training.threshold_metric
    sets = ens.predict_label_sets(texts)
    assert all(sets) and all(set(s) <= set(TOPICS) for s in sets)
    with pytest.raises(ConfigError, match="mix multi-label and single-label"):
        make_ensemble([ml_run, trained_run("fasttext")], tmp_path / "mixed")


def test_cross_validation_folds_of_multilabel_rows(ml_csv):
    from embedlab.experiments.cv import fold_splits

    cfg = _ml_config(ml_csv, "fasttext")
    seen: list[str] = []
    for fold in range(3):
        s = fold_splits(cfg, 3, fold)
        assert s.train.multilabel and s.test is not None and s.validation is not None
        assert set(s.test.classes) == set(TOPICS) == set(s.validation.classes)
        assert len(s.train) + len(s.validation) + len(s.test) == 600
        seen += s.test.texts
    assert len(seen) == 600


def test_a_part_of_proportion_zero_gets_no_row():
    y = np.eye(4, dtype=bool)[np.arange(40) % 4]
    train, val, test = iterative_stratification(y, [0.8, 0.2, 0.0], seed=0)
    assert len(test) == 0 and len(train) + len(val) == 40


def test_label_options_with_a_built_in_data_set_are_a_config_error():
    with pytest.raises(ConfigError, match="a built-in data set defines its own labels"):
        RunConfig.from_dict({"data": {"dataset": "trec", "label_hierarchy": ":"}})
    with pytest.raises(ConfigError, match="data.multilabel reads labels of a file"):
        RunConfig.from_dict({"data": {"dataset": "trec", "multilabel": True}})


def test_fasttext_lines_split_on_any_whitespace_and_a_single_label_test_file_stays_multilabel(
        tmp_path):
    rows = [f"__label__{a} __label__{b}\t {TOPICS[a]} {TOPICS[b]}" for a, b in
            [("sport", "money"), ("food", "music")] * 30]
    rows += [f"__label__{t}  {words}" for t, words in TOPICS.items() for _ in range(12)]
    (tmp_path / "train.txt").write_text("\n".join(rows) + "\n")
    ds = load_data(tmp_path / "train.txt")
    assert sorted(ds.label_sets[0]) == ["money", "sport"] and ds.texts[0].startswith("goal")
    (tmp_path / "test.txt").write_text("".join(f"__label__{t} {w}\n" for t, w in TOPICS.items()))
    result = embedlab.train(RunConfig.from_dict({
        "data": {"path": str(tmp_path / "train.txt"), "test_path": str(tmp_path / "test.txt")},
        "embeddings": {"source": None, "dim": 8}, "training": {"epochs": 2, "progress": False}}),
        tmp_path / "run")
    assert result.metrics["test"]["multilabel"] and result.metrics["test"]["n"] == len(TOPICS)


def test_multilabel_metrics_against_scikit_learn():
    from sklearn.metrics import f1_score, hamming_loss

    from embedlab.training.metrics import multilabel_metrics

    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    p = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1]], dtype=bool)
    m = multilabel_metrics(y, p, ["a", "b", "c"])
    assert m["micro"]["f1"] == pytest.approx(f1_score(y, p, average="micro"))
    assert m["macro"]["f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert m["samples"]["f1"] == pytest.approx(f1_score(y, p, average="samples"))
    assert m["subset_accuracy"] == 0.5 and m["hamming_loss"] == pytest.approx(hamming_loss(y, p))
    assert m["cardinality"] == {"true": 1.5, "predicted": 1.25}
    assert m["per_class"]["b"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                   "support": 2}
    assert m["confusion_matrix"][0] == [2, 0, 1]  # texts with a: predicted a twice, c once


def test_any_one_label_is_explained_and_its_faithfulness_measured(ml_run):
    """Explaining one label of a multi-label run: the label's own words lead it, and the
    faithfulness of that label is measured in every text (its sigmoid probability)."""
    from embedlab.explain import explain
    from embedlab.explain.faithfulness import faithfulness

    p = embedlab.load(ml_run)
    text = "goal team bank price"
    for label in ("sport", "money"):
        e = explain(p, [text], method="occlusion", target=label)[0]
        assert e.explained == label
        top = max(e.tokens, key=lambda t: t.score).token
        assert top in TOPICS[label].split()
    texts = [t for t, _ in synthetic_rows(40, seed=3)]
    report = faithfulness(p, texts, ["occlusion"], target="sport")
    assert report.target == "sport"
    occ, rnd = report.row("occlusion"), report.row("random")
    assert occ.aopc_comprehensiveness > rnd.aopc_comprehensiveness
    with pytest.raises(DataError, match="unknown target class 'spot'"):
        faithfulness(p, texts, ["occlusion"], target="spot")


def test_multilabel_decision_options_everywhere(ml_run, tmp_path):
    """Parquet output keeps every label's probability as a number; an abstained text names no
    set; --coverage is refused for a multi-label run given texts (as with --file and HTTP)."""
    import pandas as pd

    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["goal team bank price", "pizza soup cheese"]}).to_csv(src, index=False)
    _cli("predict", ml_run, "--file", src, "--out", tmp_path / "p.parquet", "--probabilities")
    got = pd.read_parquet(tmp_path / "p.parquet")
    p_columns = [c for c in got.columns if c.startswith("p_")]
    assert len(p_columns) == len(TOPICS) and all(got[c].dtype.kind == "f" for c in p_columns)
    assert ((got[p_columns] >= 0) & (got[p_columns] <= 1)).all().all()

    predictor = embedlab.load(ml_run)
    text = "goal pizza bank song"  # four topics' words: no label is certain
    top = max(predictor.predict([text])[0].probabilities.values())
    assert top < 0.999
    cut = f"{(top + 1) / 2:.4f}"
    p = predictor.predict([text], min_confidence=float(cut))[0]
    assert p.status == "abstained" and p.label is None and p.labels == ()
    r = _cli("predict", ml_run, text, "--min-confidence", cut)
    assert "[abstained]" in r.stdout
    r = _cli("predict", ml_run, "goal team", "--coverage", "0.9", code=1)
    assert "for single-label runs" in r.output and len(r.output.strip().splitlines()) == 1


def test_a_damaged_thresholds_file_is_one_artifact_error(ml_run, tmp_path):
    import shutil

    from embedlab.errors import ArtifactError
    from embedlab.inference.predictor import Predictor

    copy = tmp_path / "run"
    shutil.copytree(ml_run, copy)
    data = json.loads((copy / "thresholds.json").read_text())
    data["per_label"] = [0.5, 0.5]
    (copy / "thresholds.json").write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="'per_label' and 'validation_scores' must be mappings"):
        Predictor.load(copy, verify=False)


def test_a_bagged_multilabel_recipe_chooses_thresholds_on_out_of_fold_probabilities(
        ml_csv, tmp_path):
    """Bagged, every validation text also trained some member, so the ensemble's thresholds are
    chosen on out-of-fold probabilities: each pooled text scored by the runs that held it out."""
    from embedlab.training.recipes import bag_splits, train_ensemble
    from embedlab.training.run import encode_labels, load_splits
    from embedlab.training.thresholds import choose_thresholds

    cfg = _ml_config(ml_csv, "fasttext", **{"training.epochs": 1, "training.lr": 0.05})
    members = {"a": {}, "b": {"model.params": {"ngrams": 1}}}
    result = train_ensemble(cfg, tmp_path / "bagged", members=members, bag_folds=2)
    ens = embedlab.load(tmp_path / "bagged")
    kept = list(result.metrics["weights"])  # the members the out-of-fold weights kept
    assert ens.multilabel and ens.names == [f"{n}.{j}" for j in (1, 2) for n in kept]
    w = np.array(list(result.metrics["weights"].values()))
    folds = bag_splits(load_splits(cfg), 2, cfg.training.seed)
    held = [f.validation for f in folds]
    k = len(kept)
    probs = np.concatenate([np.tensordot(w, [m.predict_proba(part.texts)
                                             for m in ens.members[k * j:k * (j + 1)]], 1)
                            for j, part in enumerate(held)])
    y = np.concatenate([encode_labels(ens.labels, part) for part in held])
    expected = choose_thresholds(y, probs, ens.classes, cfg.training.threshold_metric)
    np.testing.assert_allclose(ens.thresholds.vector(ens.classes),
                               expected.vector(ens.classes), atol=1e-6)
    whole = choose_thresholds(y, np.concatenate([ens.predict_proba(p.texts) for p in held]),
                              ens.classes, cfg.training.threshold_metric)
    assert not np.allclose(whole.vector(ens.classes), expected.vector(ens.classes))
