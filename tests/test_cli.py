"""The CLI end to end, through a subprocess, as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = [sys.executable, "-m", "embedlab"]


def run(*args: str, cwd: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    p = subprocess.run([*EXE, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode != 0
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ag-ft"
    run("train", "--dataset", "ag_news_sample", "--model", "fasttext", "--epochs", "3", "--out", str(out))
    return out


def test_datasets_list_and_info():
    out = run("datasets", "list").stdout
    for name in ("ag_news", "trec", "sst2", "sst1", "mr", "subj"):
        assert name in out
    assert "sha256" in run("datasets", "info", "trec").stdout


def test_train_writes_a_run_and_reproduces_from_its_config(run_dir, tmp_path):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.5
    again = tmp_path / "again"
    run("train", "--config", str(run_dir / "config.yaml"), "--out", str(again))
    assert json.loads((again / "metrics.json").read_text())["test"]["accuracy"] == metrics["test"]["accuracy"]


def test_predict_texts_and_file(run_dir, tmp_path):
    out = run("predict", str(run_dir), "Stocks tumble as oil prices soar", "Team wins the cup final").stdout
    assert len([ln for ln in out.splitlines() if ln.strip()]) == 2
    q = tmp_path / "questions.csv"
    q.write_text("q\nStocks tumble as oil prices soar\n\"New phone, new chip\"\n")
    pred = tmp_path / "predictions.csv"
    run("predict", str(run_dir), "--file", str(q), "--text-column", "q", "--out", str(pred))
    rows = list(csv.DictReader(pred.open()))
    assert len(rows) == 2 and rows[1]["text"] == "New phone, new chip"
    assert abs(sum(float(v) for k, v in rows[0].items() if k.startswith("p_")) - 1) < 1e-4


def test_evaluate(run_dir, tmp_path):
    m = tmp_path / "m.json"
    out = run("evaluate", str(run_dir), "--dataset", "ag_news_sample", "--split", "test", "--out", str(m)).stdout
    assert "accuracy" in out and json.loads(m.read_text())["n"] > 100


def test_train_on_a_csv_with_two_text_columns_and_an_rnn(tmp_path, ag_sample):
    f = tmp_path / "my.csv"
    with f.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "body", "tag"])
        for text, lab in list(zip(ag_sample.texts, ag_sample.labels))[:300]:
            w.writerow([text[:40], text[40:], lab])
    out = tmp_path / "rnn"
    run("train", "--data", str(f), "--text-column", "title", "--text-column", "body", "--label-column", "tag",
        "--model", "rnn", "--epochs", "1", "--out", str(out))
    cfg = (out / "config.yaml").read_text()
    assert "title" in cfg and "body" in cfg and "rnn" in cfg


def test_bad_input_gives_one_line_and_no_run_dir(tmp_path):
    out = tmp_path / "run"
    line = one_line_error(run("train", "--data", str(tmp_path / "missing.csv"), "--out", str(out), ok=False))
    assert "missing.csv" in line
    f = tmp_path / "d.csv"
    f.write_text("title,label\nhello world,a\nbye world,b\n")
    line = one_line_error(run("train", "--data", str(f), "--text-column", "titel", "--out", str(out), ok=False))
    assert "titel" in line and "title" in line
    line = one_line_error(run("train", "--dataset", "ag_news_sample", "--model", "cnnn", "--out", str(out), ok=False))
    assert "did you mean 'cnn'" in line
    line = one_line_error(run("train", "--dataset", "trecc", "--out", str(out), ok=False))
    assert "trec" in line
    assert not out.exists()
    assert not list(tmp_path.glob(".run*"))


def test_predict_on_an_altered_run_is_refused(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    with open(copy / "model.safetensors", "r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\x00\x01\x02\x03")
    line = one_line_error(run("predict", str(copy), "hello", ok=False))
    assert "model.safetensors" in line and "checksum" in line
