"""Hostile input to the config and training (issue 18): each bad case is one line on stderr,
exit 1 (bad input) or 2 (usage error), and nothing written; a run whose loss or weights are not
finite is never saved."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from embedlab.cli import app
from embedlab.config import RunConfig
from embedlab.errors import TrainingError

runner = CliRunner()
QUICK = ("--set", "embeddings.source=null", "--embedding-dim", "8", "--epochs", "1")


@pytest.fixture(autouse=True)
def _keep_logging():
    """The CLI sets up the "embedlab" logger (its own handler, no propagation): undo that, so
    later tests' ``caplog`` still sees the logger's records."""
    logger = logging.getLogger("embedlab")
    saved = (logger.propagate, list(logger.handlers), logger.level)
    yield
    logger.propagate, logger.handlers[:], _ = saved
    logger.setLevel(saved[2])


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"}, prog_name="embedlab")


def one_line(result, code: int) -> str:
    """The one error line (the last line of stderr; logged progress may come before it)."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    return errors[0]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows), encoding="utf-8")
    return path


@pytest.fixture
def two_classes(tmp_path) -> Path:
    """Sixty generated texts, the class named by a keyword among filler words."""
    fill = ["the", "a", "of", "and", "to", "in", "is", "was", "for", "on"]
    rows = [(" ".join([fill[i % 10], ("sport", "money")[i % 2], fill[(i * 3) % 10]]),
             ("sports", "business")[i % 2]) for i in range(60)]
    return write_csv(tmp_path / "train.csv", rows)


def test_a_yaml_tag_in_set_is_one_line_and_runs_nothing(two_classes, tmp_path):
    marker = tmp_path / "pwned"
    out = tmp_path / "run"
    line = one_line(invoke("train", "--data", two_classes, "--out", out, "--set",
                           f'training.lr=!!python/object/apply:os.system ["touch {marker}"]'), 1)
    assert "--set training.lr: not a plain YAML value" in line
    assert not marker.exists() and not out.exists()


def test_an_unknown_set_key_suggests_the_closest(two_classes, tmp_path):
    line = one_line(invoke("train", "--data", two_classes, "--out", tmp_path / "run",
                           "--set", "training.lrr=0.1"), 1)
    assert "unknown key 'training.lrr' (did you mean 'training.lr'?)" in line
    assert not (tmp_path / "run").exists()


def test_a_model_too_big_for_memory_is_refused_before_allocating(two_classes, tmp_path):
    out = tmp_path / "run"
    line = one_line(invoke("train", "--data", two_classes, "--out", out, *QUICK,
                           "--set", "model.params.hidden=[1000000000]"), 1)
    assert re.search(r"would have [\d,]+ parameters, about [\d,.]+ GiB to train", line), line
    assert not out.exists()


def test_data_and_dataset_together_is_a_usage_error(two_classes, tmp_path):
    line = one_line(invoke("train", "--data", two_classes, "--dataset", "trec",
                           "--out", tmp_path / "run"), 2)
    assert "give either --data FILE or --dataset NAME, not both" in line
    assert not (tmp_path / "run").exists()


def test_freeze_and_fine_tune_together_is_a_usage_error(two_classes, tmp_path):
    line = one_line(invoke("train", "--data", two_classes, "--freeze", "--fine-tune",
                           "--out", tmp_path / "run"), 2)
    assert "give either --freeze or --fine-tune, not both" in line
    assert not (tmp_path / "run").exists()


def test_fine_tune_and_freeze_each_reach_the_config(two_classes, tmp_path):
    for flag, frozen in (("--freeze", True), ("--fine-tune", False)):
        out = tmp_path / flag.strip("-")
        result = invoke("train", "--data", two_classes, "--out", out, flag, *QUICK)
        assert result.exit_code == 0, result.output
        assert RunConfig.from_yaml(out / "config.yaml").embeddings.freeze is frozen


def test_one_example_per_label_is_refused_before_writing(tmp_path):
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    rows = [(f"{words[i % 10]} {words[(i // 10) % 10]} {words[(i // 100) % 10]}", f"label{i}")
            for i in range(3000)]
    data, out = write_csv(tmp_path / "many.csv", rows), tmp_path / "run"
    line = one_line(invoke("train", "--data", data, "--out", out, *QUICK), 1)
    assert "no validation or test split can be held out: 3,000 of 3,000 classes" in line
    assert not out.exists()
    # asked for in so many words, it trains on everything and says nothing was scored
    result = invoke("train", "--data", data, "--out", out, *QUICK,
                    "--set", "data.val_size=0", "--set", "data.test_size=0")
    assert result.exit_code == 0, result.output
    assert "nothing was scored" in result.stdout and (out / "config.yaml").is_file()


@pytest.mark.parametrize("model", ["fasttext", "bag"])
def test_a_non_finite_loss_stops_training_and_writes_nothing(two_classes, tmp_path, model):
    out = tmp_path / "run"
    line = one_line(invoke("train", "--data", two_classes, "--out", out, "--model", model,
                           *QUICK, "--epochs", "3", "--lr", "1e38",
                           "--set", "training.clip_grad_norm=null"), 1)
    assert "not finite" in line and "nothing was saved" in line
    assert not out.exists()


def test_a_model_with_non_finite_weights_is_never_saved(tmp_path):
    from embedlab import TextClassifier

    texts = [f"{w} film" for w in ("good", "bad") * 20]
    clf = TextClassifier(embeddings=None, embedding_dim=8, epochs=1, val_size=0).fit(
        texts, ["pos", "neg"] * 20)
    with torch.no_grad():
        next(clf.predictor_.model.parameters()).fill_(math.nan)
    with pytest.raises(TrainingError, match="weights are not finite"):
        clf.save(tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("setting, field", [
    ("training.lr=.inf", "training.lr"),
    ("data.val_size=.nan", "data.val_size"),
    ("model.params.dropout=.nan", "dropout"),
])
def test_a_non_finite_number_in_the_config_is_refused_before_training(two_classes, tmp_path,
                                                                     setting, field):
    # .inf / .nan are valid YAML floats: the config accepted them and training failed later
    out = tmp_path / "run"
    line = one_line(invoke("train", "--data", two_classes, "--out", out, "--set", setting), 1)
    assert field in line and "finite" in line
    assert not out.exists()
