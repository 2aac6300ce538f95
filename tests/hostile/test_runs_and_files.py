"""Hostile inputs for what embedlab writes and reads: run directories, exports and vectors files.

Nothing the user put in a directory is deleted by ``--overwrite``; two processes writing the same
``--out`` never replace each other's file; a killed write's hidden temporaries are removed by the
next write of that path; a manifest cannot make embedlab open (or hash) anything outside its
directory, nor follow a symbolic link; vectors holding nan/inf are refused at load; a word listed
twice keeps its first vector with a warning; a tampered ONNX export is one line, not a traceback.
Runs are tiny real ones (fastText on the AG News sample); processes are real where only a real
process shows the behaviour (exit codes, concurrency, SIGKILL).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
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
from embedlab.embeddings import Vectors, load
from embedlab.embeddings.vectors import from_arrays
from embedlab.errors import ArtifactError, EmbeddingError

CLI = [sys.executable, "-m", "embedlab"]
ENV = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}


def cli(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real CLI in a new process."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=ENV,
                          timeout=timeout, check=False)


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "run"
    r = CliRunner().invoke(app, ["train", "--dataset", "ag_news_sample", "--model", "fasttext",
                                 "--epochs", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def texts(run, tmp_path_factory) -> tuple[Path, Path]:
    """Two large one-text-per-line files of the run's own words (150k and 120k lines), so a
    prediction into a file lasts long enough to overlap with another or to be killed."""
    words = np.array(embedlab.load(run).vocab.itos[2:])
    rng = np.random.default_rng(0)
    base = tmp_path_factory.mktemp("texts")
    paths = []
    for name, n in (("a.txt", 150_000), ("b.txt", 120_000)):
        picks = words[rng.integers(0, len(words), (n, 8))]
        (base / name).write_text("\n".join(" ".join(r) for r in picks) + "\n", encoding="utf-8")
        paths.append(base / name)
    return paths[0], paths[1]


def rows(csv: Path) -> int:
    return csv.read_text(encoding="utf-8").count("\n") - 1


# ------------------------------------------------------------------ data loss
@pytest.mark.slow  # a real process: seconds
def test_overwrite_refuses_a_run_holding_files_the_user_added(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "notes.txt").write_text("my notes")
    (copy / "mine").mkdir()
    (copy / "mine" / "plot.png").write_bytes(b"png")
    args = ["train", "--dataset", "ag_news_sample", "--model", "bag", "--epochs", "1",
            "--out", copy, "--overwrite"]
    r = cli(*args)
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "notes.txt" in line and "mine/" in line and "did not write" in line
    assert (copy / "notes.txt").read_text() == "my notes"
    assert (copy / "mine" / "plot.png").read_bytes() == b"png"
    assert "fasttext" in embedlab.load(copy).config.model.name  # the run is untouched too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    (copy / "notes.txt").unlink()
    shutil.rmtree(copy / "mine")
    r = cli(*args)  # only what embedlab wrote left: replaced
    assert r.returncode == 0, r.stderr
    assert "bag" in embedlab.load(copy).config.model.name


def test_saving_vectors_over_a_directory_with_added_files_is_refused(tmp_path):
    v = Vectors(from_arrays(["a", "b"], np.eye(2, dtype=np.float32)))
    v.save(tmp_path / "v")
    (tmp_path / "v" / "README").write_text("where these came from")
    with pytest.raises(ArtifactError, match="README"):
        v.save(tmp_path / "v", overwrite=True)
    assert (tmp_path / "v" / "README").read_text() == "where these came from"


@pytest.mark.slow  # a real process: seconds
def test_two_predicts_to_one_out_never_replace_each_other(run, texts, tmp_path):
    out = tmp_path / "same.csv"
    procs = [subprocess.Popen([*CLI, "predict", str(run), "--file", str(f), "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for f in texts]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = [code for code, _ in results]
    assert sorted(codes) == [0, 1], results
    loser = results[codes.index(1)][1]
    assert "--overwrite" in one_line(loser)
    winner = texts[codes.index(0)]
    assert rows(out) == winner.read_text(encoding="utf-8").count("\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.csv"]  # no temporary left


def test_a_live_temporary_is_not_taken_for_a_leftover(tmp_path):
    from embedlab.atomic import atomic_file, clean_leftovers

    target = tmp_path / "out.csv"
    with atomic_file(target, overwrite=False) as tmp:
        tmp.write_text("half")
        assert clean_leftovers(target) == []  # locked by this writer: kept
        assert tmp.read_text() == "half"
    assert target.read_text() == "half"


@pytest.mark.slow  # a real process: seconds
def test_sigkill_during_predict_leaves_a_temporary_the_next_run_removes(run, texts, tmp_path):
    out = tmp_path / "same.csv"
    proc = subprocess.Popen([*CLI, "predict", str(run), "--file", str(texts[0]), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.monotonic() + 240
    leftovers: list[Path] = []
    while not leftovers and proc.poll() is None and time.monotonic() < deadline:
        leftovers = list(tmp_path.glob(".same.csv.*.tmp"))
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert leftovers and all(p.exists() for p in leftovers), "predict ended before it was killed"
    assert not out.exists()
    r = cli("predict", run, "--file", texts[1], "--out", out)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.csv"]
    assert rows(out) == 120_000


@pytest.mark.slow  # a real process: seconds
def test_a_killed_run_write_leaves_a_temporary_the_next_train_removes(run, tmp_path):
    out = tmp_path / "run"
    code = ("import sys, time\nfrom embedlab.atomic import atomic_dir\n"
            "with atomic_dir(sys.argv[1], kind='embedlab-run') as tmp:\n"
            "    (tmp / 'model.safetensors').write_bytes(b'half')\n"
            "    print('writing', flush=True)\n    time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                            text=True, env=ENV)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()
    assert [p.name.endswith(".tmp") for p in tmp_path.iterdir()] == [True]
    r = cli("train", "--dataset", "ag_news_sample", "--model", "bag", "--epochs", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# ------------------------------------------------------------------ reading outside
def _with_manifest_entry(run: Path, copy: Path, name: str, sha: str) -> None:
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][name] = {"bytes": 6, "sha256": sha}
    (copy / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("where", ["parent", "absolute"])
@pytest.mark.parametrize("hash_", ["right", "wrong"])
def test_a_manifest_naming_a_file_outside_the_run_is_refused_before_it_is_read(
        run, tmp_path, where, hash_):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    digest = hashlib.sha256(b"secret").hexdigest()
    copy = tmp_path / "run"
    name = "../secret.txt" if where == "parent" else str(secret)
    _with_manifest_entry(run, copy, name, digest if hash_ == "right" else "0" * 64)
    with pytest.raises(ArtifactError, match="not a plain relative name") as e:
        embedlab.load(copy)
    assert digest[:12] not in str(e.value)  # no oracle on the file's contents
    r = cli("predict", copy, "oil prices rise")
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "not a plain relative name" in line and digest[:12] not in line


def test_a_symlinked_file_inside_a_run_is_refused(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    outside = tmp_path / "labels.json"
    shutil.move(copy / "labels.json", outside)
    (copy / "labels.json").symlink_to(outside)  # same bytes, same checksum: only the link differs
    with pytest.raises(ArtifactError, match="labels.json is a symbolic link"):
        embedlab.load(copy)


def test_a_symlinked_manifest_is_refused_before_it_is_read(run, export, tmp_path):
    # the manifest decides what is read and hashed: read through a link, it could come from
    # anywhere; runs, ensembles, exports and vectors directories all refuse it
    from embedlab.inference.ensemble import make_ensemble

    cases = [(run, ArtifactError, embedlab.load), (export, ArtifactError, embedlab.load)]
    shutil.copytree(run, tmp_path / "run-copy")  # an ensemble of two runs (one run twice is refused)
    make_ensemble([run, tmp_path / "run-copy"], tmp_path / "ens-src")
    cases.append((tmp_path / "ens-src", ArtifactError, embedlab.load))
    Vectors(from_arrays(["a", "b"], np.eye(2, dtype=np.float32))).save(tmp_path / "v-src")
    cases.append((tmp_path / "v-src", EmbeddingError, load))
    for i, (source, error, loader) in enumerate(cases):
        copy = tmp_path / f"copy{i}"
        shutil.copytree(source, copy)
        outside = tmp_path / f"manifest{i}.json"
        shutil.move(copy / "manifest.json", outside)
        (copy / "manifest.json").symlink_to(outside)  # same bytes: only the link differs
        with pytest.raises(error, match="manifest.json: is a symbolic link"):
            loader(copy)


def test_a_vectors_directory_naming_a_file_outside_it_is_refused(tmp_path):
    Vectors(from_arrays(["a", "b"], np.eye(2, dtype=np.float32))).save(tmp_path / "v")
    (tmp_path / "other.npy").write_bytes(b"x" * 10)
    manifest = json.loads((tmp_path / "v" / "manifest.json").read_text())
    manifest["files"]["../other.npy"] = {"bytes": 10}
    (tmp_path / "v" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EmbeddingError, match="not a plain relative name"):
        load(tmp_path / "v")


# ------------------------------------------------------------------ exports
@pytest.fixture(scope="module")
def export(run, tmp_path_factory) -> Path:
    pytest.importorskip("onnxruntime")
    out = tmp_path_factory.mktemp("export") / "exported"
    r = CliRunner().invoke(app, ["export", str(run), "--format", "onnx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_an_export_with_a_shortened_labels_file_and_a_recomputed_manifest_is_one_line(
        export, tmp_path):
    copy = tmp_path / "exported"
    shutil.copytree(export, copy)
    labels = json.loads((copy / "labels.json").read_text())
    labels["classes"] = labels["classes"][:-1]
    (copy / "labels.json").write_text(json.dumps(labels))
    manifest = json.loads((copy / "manifest.json").read_text())
    data = (copy / "labels.json").read_bytes()
    manifest["files"]["labels.json"] = {"bytes": len(data),
                                        "sha256": hashlib.sha256(data).hexdigest()}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    r = cli("predict", copy, "oil prices rise", "the team wins the cup")
    assert r.returncode == 1
    assert "this export is damaged: labels.json lists 3 labels" in one_line(r.stderr)


def test_an_export_manifest_naming_a_file_outside_is_refused(export, tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    copy = tmp_path / "exported"
    _with_manifest_entry(export, copy, "../secret.txt", hashlib.sha256(b"secret").hexdigest())
    with pytest.raises(ArtifactError, match="not a plain relative name"):
        embedlab.load(copy)


# ------------------------------------------------------------------ vectors
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e40"])
def test_non_finite_text_vectors_are_refused_naming_word_and_line(tmp_path, value):
    path = tmp_path / "v.txt"
    path.write_text(f"the 0.1 0.2\n\ncat 0.3 {value}\ndog 0.5 0.6\n")
    with pytest.raises(EmbeddingError, match=r"v.txt line 3: the vector of 'cat' holds (nan|inf)"):
        load(path)


def test_non_finite_binary_and_directory_vectors_are_refused_naming_the_word(tmp_path):
    v = Vectors(from_arrays(["the", "cat"], np.array([[0.1, 0.2], [np.nan, 1]], np.float32)))
    v.export(tmp_path / "v.bin", format="word2vec-binary")
    with pytest.raises(EmbeddingError, match="the vector of 'cat' holds nan"):
        load(tmp_path / "v.bin")
    v.save(tmp_path / "dir")
    with pytest.raises(EmbeddingError, match="the vector of 'cat' holds nan"):
        load(tmp_path / "dir")


@pytest.mark.slow  # a real process: seconds
def test_training_on_vectors_with_nan_is_one_line_and_writes_nothing(tmp_path):
    vectors = tmp_path / "v.txt"
    vectors.write_text("the 0.1 0.2\nstocks nan 0.4\n")
    r = cli("train", "--dataset", "ag_news_sample", "--model", "bag", "--epochs", "1",
            "--set", f"embeddings.source={vectors}", "--out", tmp_path / "run")
    assert r.returncode == 1
    assert "line 2: the vector of 'stocks' holds nan" in one_line(r.stderr)
    assert not (tmp_path / "run").exists()


def test_a_word_listed_twice_keeps_its_first_vector_with_a_warning(tmp_path, caplog):
    path = tmp_path / "v.txt"
    path.write_text("the 1 2\ncat 3 4\n\nthe 5 6\n")
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        v = load(path)
    assert v.words == ["the", "cat"]
    assert v.vector("the").tolist() == [1, 2]
    assert "'the' is listed twice (line 1 and line 4)" in caplog.text
    dup = Vectors(from_arrays(["the", "cat", "the"], np.array([[1, 2], [3, 4], [5, 6]],
                                                              np.float32)))
    dup.save(tmp_path / "dir")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        back = load(tmp_path / "dir")
    assert back.words == ["the", "cat"] and back.vector("the").tolist() == [1, 2]
    assert "'the' is listed twice (position 0 and position 2)" in caplog.text
    dup.export(tmp_path / "v.bin", format="word2vec-binary")
    back = load(tmp_path / "v.bin")
    assert back.words == ["the", "cat"] and len(back.kv.vectors) == 2
