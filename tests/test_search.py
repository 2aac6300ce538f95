"""Optuna search: two worker processes on one SQLite study run exactly the trial budget; every
epoch's validation accuracy reaches the pruner; the best config is a ready config.yaml; bad
spaces and unreachable storages fail in one line; ``train --autotune`` searches the ranges of the
model's own optimizer from the defaults on and trains the best."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, ConfigError
from embedlab.experiments import load_grid
from embedlab.experiments.search import autotune, load_space, open_storage, parse_space, run_search
from tiny_configs import BAG_BASE

BASE = BAG_BASE
SPACE = {"name": "tiny", "base": BASE,
         "space": {"training.lr": {"loguniform": [1.0e-3, 3.0e-2]},
                   "model.params.pooling": {"choice": ["mean", "sum"]},
                   "model.params.hidden": {"choice": [[16], [32, 16]]}}}


def _space(**changes):
    return parse_space({**SPACE, **changes}, "test-space")


@pytest.mark.slow
def test_two_workers_share_one_budget_exactly(tmp_path):
    import optuna

    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SPACE))
    db = tmp_path / "study.db"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "embedlab", "search", str(tmp_path / "space.yaml"), "--trials", "5",
           "--storage", f"sqlite:///{db}"]
    workers = [subprocess.Popen([*cmd, "--out", str(tmp_path / f"w{i}")], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env) for i in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    for w, (_, err) in zip(workers, outputs):
        assert w.returncode == 0, err
    ran = [int(re.search(r"this worker ran (\d+) trials", out).group(1)) for out, _ in outputs]
    assert sum(ran) == 5
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{db}")
    trials = study.get_trials()
    assert len(trials) == 5 and sorted(t.number for t in trials) == [0, 1, 2, 3, 4]
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    # a worker joining a study whose budget is spent runs nothing
    again = subprocess.run([*cmd, "--out", str(tmp_path / "w3")], capture_output=True, text=True, env=env,
                           check=True)
    assert "this worker ran 0 trials" in again.stdout
    assert len(optuna.load_study(study_name="tiny", storage=f"sqlite:///{db}").trials) == 5


def test_every_epoch_is_reported_and_the_best_config_is_ready(tmp_path):
    result = run_search(_space(), out=tmp_path / "s", trials=3)
    assert result.ran == 3 and result.finished == 3 and result.best_value is not None
    import optuna

    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{(tmp_path / 's' / 'study.db').resolve()}")
    for t in study.trials:
        if t.state.name == "COMPLETE":
            assert sorted(t.intermediate_values) == [1, 2]
            assert all(0 <= v <= 1 for v in t.intermediate_values.values())
    best = RunConfig.from_yaml(tmp_path / "s" / "config.yaml")
    assert best.training.lr == pytest.approx(result.best_params["training.lr"])
    assert best.model.params["pooling"] == result.best_params["model.params.pooling"]
    assert best.model.params["hidden"] == result.best_params["model.params.hidden"]
    assert best.data.limit == 240
    grid = load_grid(tmp_path / "s" / "best_grid.yaml")
    assert grid.base == best and grid.seeds == [0, 1, 2]
    rows = (tmp_path / "s" / "trials.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("number,state,value,training.lr")


@pytest.mark.slow
def test_median_pruner_stops_hopeless_trials(tmp_path):
    space = _space(base={**BASE, "training": {**BASE["training"], "epochs": 4}},
                   space={"training.lr": {"choice": [0.02, 1.0e-6]}})
    import optuna

    store, _ = open_storage(f"sqlite:///{tmp_path / 'p.db'}")
    study = optuna.create_study(study_name="tiny", storage=store, direction="maximize")
    for lr_index in (0, 0, 0, 0):  # four good trials set the median
        study.enqueue_trial({"training.lr": lr_index})
    study.enqueue_trial({"training.lr": 1})  # a learning rate that cannot learn in 4 epochs
    result = run_search(space, out=tmp_path / "p", storage=f"sqlite:///{tmp_path / 'p.db'}", trials=5)
    assert result.ran == 5
    last = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'p.db'}").trials[-1]
    assert last.params["training.lr"] == 1 and last.state.name == "PRUNED"
    assert max(last.intermediate_values) < 4  # stopped before its last epoch


@pytest.mark.parametrize("space, message", [
    ({"training.lr": {"loguniform": [0.1, 0.001]}}, "inverted range [0.1, 0.001]"),
    ({"training.epochs": {"int": [5, 2]}}, "inverted range [5, 2]"),
    ({"training.lr": {"loguniform": [0, 0.1]}}, "must be positive"),
    ({"training.lr": {"normal": [0, 1]}}, "unknown range kind 'normal'"),
    ({"trainng.lr": {"loguniform": [0.001, 0.1]}}, "did you mean 'training.lr'"),
    ({"model.params.poolin": {"choice": ["mean"]}}, "did you mean 'pooling'"),
    ({"model.params.pooling": {"choice": ["mean", "median"]}}, "model.params.pooling='median'"),
    ({"training.batch_size": {"int": [0.5, 8]}}, "whole numbers"),
    ({}, "empty search space"),
])
def test_bad_spaces_fail_in_one_line(space, message):
    with pytest.raises(ConfigError) as e:
        _space(space=space)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("url, message", [
    ("sqlite:////nonexistent/folder/study.db", "does not exist"),
    ("journal:/nonexistent/folder/study.log", "does not exist"),
    ("postgresql://nobody@127.0.0.1:9/none", "cannot be reached"),
    ("study.db", "expected sqlite:///FILE"),
])
def test_unreachable_storage_is_one_line(url, message):
    with pytest.raises(ConfigError) as e:
        open_storage(url)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_journal_storage_joins_the_same_study(tmp_path):
    url = f"journal:{tmp_path / 'j.log'}"
    first = run_search(_space(), out=tmp_path / "a", storage=url, trials=2)
    second = run_search(_space(), out=tmp_path / "b", storage=url, trials=3)
    assert (first.ran, second.ran, second.finished) == (2, 1, 3)


def test_cli_search_errors_are_one_line(tmp_path, capsys):
    from embedlab.cli import main

    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({**SPACE, "space": {"training.lr": {"loguniform": [0.1, 0.01]}}}))
    with pytest.raises(SystemExit) as e:
        main(["search", str(path), "--trials", "2", "--out", str(tmp_path / "o")])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert e.value.code == 1 and len(err) == 1 and "inverted range" in err[0]
    assert not (tmp_path / "o").exists()
    with pytest.raises(ConfigError, match="space file not found"):
        load_space(tmp_path / "missing.yaml")


@pytest.mark.slow
def test_autotune_trains_the_best_config(tmp_path, capsys):
    base = RunConfig.from_dict(BASE)
    found = autotune(base, seconds=3)
    assert found.ran >= 1 and found.best_config is not None
    assert found.best_config.data == base.data and "training.lr" in found.best_params
    from embedlab.cli import main

    out = tmp_path / "auto"
    with pytest.raises(SystemExit) as e:
        main(["train", "--dataset", "ag_news_sample", "--limit", "240", "--model", "bag", "--epochs", "2",
              "--autotune", "3", "--out", str(out)])
    assert e.value.code == 0 and "autotune:" in capsys.readouterr().out
    tuned = RunConfig.from_yaml(out / "config.yaml")
    assert tuned.data.limit == 240 and (out / "metrics.json").is_file()


FASTTEXT_BASE = {"data": {"dataset": "ag_news_sample", "limit": 240}, "embeddings": {"source": None},
                 "training": {"threads": 1, "progress": False}}


def test_autotune_of_the_default_model_searches_sgd_rates_and_starts_from_the_defaults():
    from embedlab.experiments.search import _start_values, autotune_space

    base = RunConfig.from_dict(FASTTEXT_BASE)  # the fasttext model, trained by SGD as fastText
    space = {p.key: p for p in autotune_space(base).params}
    assert set(space) == {"training.lr", "training.epochs", "embeddings.dim", "model.params.ngrams"}
    assert space["training.lr"].low <= 0.2 <= space["training.lr"].high  # the default rate is inside
    start = _start_values(autotune_space(base))
    assert start == {"training.lr": 0.2, "training.epochs": 10, "embeddings.dim": 100,
                     "model.params.ngrams": 2}
    # a budget that ends during the first trial: that trial is the defaults, and it is the result
    found = autotune(base, seconds=0.01)
    assert found.ran == 1
    assert found.best_config.training.lr == 0.2 and found.best_config.training.epochs == 10
    # what the user gave is not searched; an Adam-trained model keeps Adam's ranges
    given = RunConfig.from_dict({**FASTTEXT_BASE, "training": {"lr": 0.5, "epochs": 5}})
    assert not {"training.lr", "training.epochs"} & {p.key for p in autotune_space(given).params}
    adam = {p.key: p for p in autotune_space(RunConfig.from_dict(BASE)).params}
    assert "training.epochs" not in adam and adam["training.lr"].high == 3e-2


@pytest.mark.slow
def test_autotune_prunes_by_epoch_only_where_epochs_compare(monkeypatch):
    """Under the linear schedule a trial's mid-run accuracy (its rate still high) is not reported
    to the pruner; under plateau every epoch's is."""
    import optuna

    from embedlab.experiments.search import _Objective, autotune_space

    for base, reported in ((FASTTEXT_BASE, False), (BASE, True)):
        space = autotune_space(RunConfig.from_dict(base))
        study = optuna.create_study(direction="maximize")
        trial = study.ask()
        value, pruned = _Objective(space)(trial)
        study.tell(trial, value)
        assert not pruned and bool(study.trials[0].intermediate_values) is reported


def test_autotune_on_given_splits():
    from embedlab.data import TextDataset
    from embedlab.training.run import Splits

    texts = [f"{w} film {i}" for i in range(40) for w in ("good", "bad")]
    labels = ["pos", "neg"] * 40
    train, val = TextDataset(texts[:60], labels[:60], "mem"), TextDataset(texts[60:], labels[60:], "mem")
    base = RunConfig.from_dict({"embeddings": {"source": None},
                                "training": {"threads": 1, "progress": False}})  # no data named
    found = autotune(base, seconds=0.5, splits=Splits(train, val, None, None))
    assert found.ran >= 1 and found.best_value == 1.0


def test_unreachable_storage_fails_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        run_search(_space(), out=tmp_path / "x", storage="sqlite:////nonexistent/folder/s.db", trials=1)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_a_folder_embedlab_did_not_write_is_refused_before_any_trial(tmp_path):
    out = tmp_path / "proj"
    out.mkdir()
    (out / "config.yaml").write_text("mine: 1\n")
    with pytest.raises(ArtifactError, match="not an embedlab search"):
        run_search(_space(), out=out, trials=1)
    assert (out / "config.yaml").read_text() == "mine: 1\n"
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArtifactError, match="not a folder"):
        run_search(_space(), out=tmp_path / "file", trials=1)
    # a search folder is ours: a second search continues the study in it
    run_search(_space(), out=tmp_path / "s", trials=1)
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["kind"] == "embedlab-search"
    assert run_search(_space(), out=tmp_path / "s", trials=2).finished == 2
