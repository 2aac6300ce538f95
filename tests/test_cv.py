"""The cross-validation protocol: every row is a test row exactly once, folds are stratified and
seeded, validation comes from each fold's training part; the data sets' own protocols; and
``embedlab train --folds K`` writing an experiment folder with a report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from embedlab.config import RunConfig
from embedlab.errors import ConfigError
from embedlab.experiments.cv import fold_splits, load_cv_data, protocol_folds, train_fold


@pytest.fixture()
def data_file(tmp_path) -> Path:
    """57 distinct texts in 3 unbalanced classes (30 / 17 / 10)."""
    words = {"sport": "match goal team", "money": "bank stock price", "tech": "chip code laptop"}
    counts = {"sport": 30, "money": 17, "tech": 10}
    rows = [(f"{words[c]} item{i}", c) for c, n in counts.items() for i in range(n)]
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "\n".join(f"{t},{c}" for t, c in rows) + "\n", encoding="utf-8")
    return path


def _config(path: Path, seed: int = 0) -> RunConfig:
    return RunConfig.from_dict({"data": {"path": str(path), "val_size": 0.2},
                                "model": {"name": "bag"}, "embeddings": {"dim": 8},
                                "training": {"epochs": 1, "seed": seed, "threads": 1, "progress": False}})


def test_ten_folds_use_every_row_exactly_once_as_test(data_file):
    config = _config(data_file)
    data = load_cv_data(config)
    seen: Counter[str] = Counter()
    for fold in range(10):
        s = fold_splits(config, 10, fold, data)
        test, train, val = set(s.test.texts), set(s.train.texts), set(s.validation.texts)
        assert not (test & train) and not (test & val) and not (train & val)
        assert len(test) + len(train) + len(val) == len(data)
        # stratified: each class's share of the fold is within one row of its share overall
        for cls, n in Counter(data.labels).items():
            assert abs(s.test.labels.count(cls) - n / 10) < 1
        # validation is carved from this fold's training part, stratified too
        assert set(s.validation.labels) == set(data.labels)
        assert any("fold" in note for note in s.train.notes)
        seen.update(s.test.texts)
    assert set(seen) == set(data.texts) and set(seen.values()) == {1}


def test_folds_follow_the_seed(data_file):
    data = load_cv_data(_config(data_file))
    a = fold_splits(_config(data_file, seed=0), 5, 0, data).test.texts
    assert fold_splits(_config(data_file, seed=0), 5, 0, data).test.texts == a
    assert fold_splits(_config(data_file, seed=1), 5, 0, data).test.texts != a


def test_too_many_folds_for_the_smallest_class_is_an_error(data_file):
    with pytest.raises(ConfigError, match=r"11 folds is more than the smallest class has rows \('tech': 10"):
        fold_splits(_config(data_file), 11, 0)


def test_protocols_of_the_builtin_data_sets():
    def cfg(name):
        return RunConfig.from_dict({"data": {"dataset": name}})

    assert protocol_folds(cfg("mr")) == 10 and protocol_folds(cfg("subj")) == 10
    assert protocol_folds(cfg("trec")) is None and protocol_folds(cfg("sst2")) is None
    assert protocol_folds(RunConfig()) is None


def test_a_fold_is_an_ordinary_run_directory(data_file, tmp_path):
    from embedlab.artifacts import load

    out = tmp_path / "fold3"
    result = train_fold(_config(data_file), 5, 3, out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["n"] == result.metrics["test"]["n"] in (11, 12)
    assert any("fold 4/5" in n for n in metrics["data"]["notes"])
    assert load(out).predict(["goal for the team"])[0].label in {"sport", "money", "tech"}


def test_train_folds_writes_an_experiment_with_a_report(data_file, tmp_path, capsys):
    from embedlab.cli import main

    out = tmp_path / "cv"
    with pytest.raises(SystemExit) as e:
        main(["train", "--data", str(data_file), "--model", "bag", "--embedding-dim", "8", "--epochs", "1",
              "--folds", "3", "--out", str(out)])
    assert e.value.code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "embedlab-experiment" and len(manifest["runs"]) == 3
    summary = (out / "report" / "summary.csv").read_text()
    assert summary.splitlines()[1].startswith("bag,") and ",3," in summary.splitlines()[1]
    assert "3/3 runs" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["train", "--data", str(data_file), "--folds", "20", "--out", str(tmp_path / "cv20")])
    assert e.value.code == 1 and "smallest class" in capsys.readouterr().err
    assert not (tmp_path / "cv20" / "runs").exists()
