"""The CLI end to end: train → predict → evaluate → demo in-process (typer's CliRunner), and two
real processes for what only a real process shows (exit codes through the entry points, Ctrl-C).
Error paths of every subcommand are in test_cli_errors.py."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import embedlab
from embedlab.cli import app

runner = CliRunner()
_SCRIPT = Path(sys.executable).with_name("embedlab")  # the console script next to this python
EXE = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "embedlab"]


def invoke(*args: object, code: int = 0):
    r = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"}, prog_name="embedlab")
    assert r.exit_code == code, (r.output, r.exception)
    return r


def one_line_error(r) -> str:
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    return lines[0]


def table_rows(output: str) -> list[list[str]]:
    """The body rows of a rich table as lists of cell texts."""
    return [[c.strip() for c in ln.strip().strip("│").split("│")]
            for ln in output.splitlines() if ln.strip().startswith("│")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ag-ft"
    invoke("train", "--dataset", "ag_news_sample", "--model", "fasttext", "--epochs", "3", "--out", out)
    return out


def test_datasets_list_and_info_show_the_catalogue():
    from embedlab.data import dataset_info, list_datasets

    rows = {r[0]: r for r in table_rows(invoke("datasets", "list").stdout)}
    expected = list_datasets()
    assert set(rows) == {i.name for i in expected}
    for i in expected:
        assert rows[i.name][1:] == [str(len(i.classes)), ", ".join(i.splits), i.protocol]
    out = invoke("datasets", "info", "trec").stdout
    info = dataset_info("trec")
    files = [f for fs in info.files.values() for f in fs]
    assert files and all(f.sha256[:16] in out for f in files)
    assert f"classes: {', '.join(info.classes)}" in out


def test_train_writes_a_run_and_reproduces_from_its_config(run_dir, tmp_path):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.5
    assert json.loads((run_dir / "manifest.json").read_text())["kind"] == "embedlab-run"
    again = tmp_path / "again"
    invoke("train", "--config", run_dir / "config.yaml", "--out", again)
    assert json.loads((again / "metrics.json").read_text())["test"]["accuracy"] == metrics["test"]["accuracy"]


def test_train_overwrite_replaces_a_run_and_only_a_run(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    r = invoke("train", "--dataset", "ag_news_sample", "--model", "bag", "--epochs", "1",
               "--out", copy, code=1)
    assert "already exists" in one_line_error(r)
    assert "fasttext" in embedlab.load(copy).config.model.name
    invoke("train", "--dataset", "ag_news_sample", "--model", "bag", "--epochs", "1",
           "--out", copy, "--overwrite")
    assert "bag" in embedlab.load(copy).config.model.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary left beside it
    proj = tmp_path / "proj"
    proj.mkdir()
    data = proj / "base.csv"
    data.write_text("text,label\n" + "good fine day,pos\nbad awful day,neg\n" * 10)
    r = invoke("train", "--data", data, "--out", proj, "--overwrite", code=1)
    assert "did not write" in one_line_error(r)
    assert [p.name for p in proj.iterdir()] == ["base.csv"]


def test_predict_texts_and_file(run_dir, tmp_path):
    out = invoke("predict", run_dir, "Stocks tumble as oil prices soar", "Team wins the cup final").stdout
    assert len([ln for ln in out.splitlines() if ln.strip()]) == 2
    q = tmp_path / "questions.csv"
    q.write_text("q\nStocks tumble as oil prices soar\n\"New phone, new chip\"\n")
    pred = tmp_path / "predictions.csv"
    invoke("predict", run_dir, "--file", q, "--text-column", "q", "--out", pred)
    rows = list(csv.DictReader(pred.open()))
    expected = embedlab.load(run_dir).predict(["Stocks tumble as oil prices soar",
                                               "New phone, new chip"])
    assert [r["label"] for r in rows] == [p.label for p in expected]
    assert [float(r["probability"]) for r in rows] == pytest.approx([p.score for p in expected],
                                                                    abs=1e-5)


def test_evaluate_reports_the_accuracy_of_the_run(run_dir, tmp_path):
    from embedlab.data import load_dataset

    m = tmp_path / "m.json"
    out = invoke("evaluate", run_dir, "--dataset", "ag_news_sample", "--split", "test", "--out", m).stdout
    metrics = json.loads(m.read_text())
    test = load_dataset("ag_news_sample", "test")
    predicted = embedlab.load(run_dir).predict_labels(test.texts)
    accuracy = float(np.mean(np.array(predicted) == np.array(test.labels)))
    assert metrics["n"] == len(test) and metrics["accuracy"] == pytest.approx(accuracy)
    assert next(r for r in table_rows(out) if r[0] == "accuracy")[3] == f"{accuracy:.3f}"
    # an existing output is not replaced without --overwrite (checked before evaluating)
    m.write_text("my notes")
    r = invoke("evaluate", run_dir, "--dataset", "ag_news_sample", "--out", m, code=1)
    assert "already exists" in one_line_error(r) and m.read_text() == "my notes"
    invoke("evaluate", run_dir, "--dataset", "ag_news_sample", "--out", m, "--overwrite")
    assert json.loads(m.read_text())["accuracy"] == pytest.approx(accuracy)


def test_embeddings_plot_does_not_replace_an_existing_file(tmp_path):
    from embedlab.embeddings import Vectors
    from embedlab.embeddings.vectors import from_arrays

    vec = tmp_path / "vec"
    words = ["cat", "dog", "car", "bus"]
    Vectors(from_arrays(words, np.eye(4, dtype=np.float32)), name="t").save(vec)
    png = tmp_path / "p.png"
    png.write_bytes(b"mine")
    r = invoke("embeddings", "plot", vec, *words, "--out", png, code=1)
    assert "already exists" in one_line_error(r) and png.read_bytes() == b"mine"
    invoke("embeddings", "plot", vec, *words, "--out", png, "--overwrite")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_train_on_a_csv_with_two_text_columns_and_an_rnn(tmp_path, ag_sample):
    f = tmp_path / "my.csv"
    with f.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "body", "tag"])
        for text, lab in list(zip(ag_sample.texts, ag_sample.labels))[:300]:
            w.writerow([text[:40], text[40:], lab])
    out = tmp_path / "rnn"
    invoke("train", "--data", f, "--text-column", "title", "--text-column", "body", "--label-column", "tag",
           "--model", "rnn", "--epochs", "1", "--out", out)
    cfg = embedlab.load(out).config
    assert cfg.data.text_columns == ["title", "body"] and cfg.data.label_column == "tag"
    assert "rnn" in cfg.model.name


def test_bad_input_gives_one_line_and_no_run_dir(tmp_path):
    out = tmp_path / "run"
    line = one_line_error(invoke("train", "--data", tmp_path / "missing.csv", "--out", out, code=1))
    assert "missing.csv" in line
    f = tmp_path / "d.csv"
    f.write_text("title,label\nhello world,a\nbye world,b\n")
    line = one_line_error(invoke("train", "--data", f, "--text-column", "titel", "--out", out, code=1))
    assert "titel" in line and "title" in line
    line = one_line_error(invoke("train", "--dataset", "ag_news_sample", "--model", "cnnn", "--out", out, code=1))
    assert "did you mean 'cnn'" in line
    line = one_line_error(invoke("train", "--dataset", "trecc", "--out", out, code=1))
    assert "trec" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_predict_on_an_altered_run_is_refused(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    with open(copy / "model.safetensors", "r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\x00\x01\x02\x03")
    line = one_line_error(invoke("predict", copy, "hello", code=1))
    assert "model.safetensors" in line and "checksum" in line


def test_demo_trains_and_prints_real_metrics_and_predictions(tmp_path):
    from embedlab.cli.main import DEMO_TEXTS

    out = tmp_path / "demo"
    stdout = invoke("demo", "--model", "fasttext", "--epochs", "2", "--out", out).stdout
    metrics = json.loads((out / "metrics.json").read_text())["test"]
    printed = float(next(r for r in table_rows(stdout) if r[0] == "accuracy")[3])
    assert printed == round(metrics["accuracy"], 3) and printed > 0.5  # chance is 0.25
    predictions = embedlab.load(out).predict(DEMO_TEXTS)
    lines = [ln for ln in stdout.splitlines() if "←" in ln]
    assert len(lines) == 3
    for line, text, p in zip(lines, DEMO_TEXTS, predictions):
        label, rest = line.split(maxsplit=1)
        assert label == p.label and line.endswith(text)
        probs = dict(re.findall(r"(\w[\w/]*) (\d\.\d\d)", rest.split("←")[0]))
        assert set(probs) == set(p.probabilities)
        assert sum(float(v) for v in probs.values()) == pytest.approx(1, abs=0.03)
    # the demo's own run directory is replaced on the next demo; nothing else is
    assert (out / "manifest.json").is_file()


# ----------------------------------------------------------------------------- real processes
def run_exe(*args: object, python_m: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "embedlab"] if python_m else EXE
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"}, check=False)


@pytest.mark.slow
def test_exit_codes_through_the_real_entry_points(tmp_path):
    from embedlab.embeddings import Vectors
    from embedlab.embeddings.vectors import from_arrays

    vec = tmp_path / "vec"
    Vectors(from_arrays(["cat", "dog"], np.eye(2, dtype=np.float32)), name="t").save(vec)
    p = run_exe("embeddings", "neighbors", vec, "unknownword")
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "'unknownword'" in p.stderr
    p = run_exe("train", "--epochs", "abc", python_m=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "'--epochs'" in p.stderr
    assert run_exe("datasets", "list").returncode == 0


@pytest.mark.parametrize("command", [["datasets", "list"], ["embeddings", "list"]])
def test_cli_start_imports_no_heavy_library(command):
    """Commands import torch, pandas, scikit-learn, gensim, matplotlib inside their bodies, so
    `embedlab datasets list` and `embedlab embeddings list` (and --help, and every usage error)
    start without them; `embedlab.embeddings` imports its modules on first use."""
    code = (
        f"import sys\nfrom embedlab.cli import main\n"
        f"try:\n    main({command!r})\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = ('torch', 'pandas', 'sklearn', 'gensim', 'matplotlib', 'scipy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_ctrl_c_during_training_exits_130_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [*EXE, "train", "--dataset", "ag_news_sample", "--model", "bag", "--epochs", "500",
         "--set", "training.patience=500", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"})
    deadline = time.monotonic() + 120
    seen = []
    for line in proc.stderr:  # wait until training has started (its first line is logged)
        seen.append(line)
        if "INFO" in line and "train" in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    _, rest_err = proc.communicate(timeout=60)
    assert any("train" in ln for ln in seen), "".join(seen) + rest_err
    assert proc.returncode == 130
    assert rest_err.strip().splitlines()[-1] == "error: interrupted; nothing was written"
    assert "Traceback" not in rest_err
    assert list(tmp_path.iterdir()) == []
