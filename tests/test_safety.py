"""Nothing embedlab loads may execute code: crafted pickles are refused without being run.

Each crafted file's ``__reduce__`` would create a marker file when unpickled; every test checks
that the load is refused with a one-line error AND that the marker does not exist.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from embedlab.embeddings import Vectors, load
from embedlab.embeddings.vectors import from_arrays
from embedlab.errors import EmbeddingError

SRC = Path(__file__).resolve().parents[1] / "src" / "embedlab"


class _Evil:
    """Unpickling this opens (creates) ``marker`` for writing."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_pickle(tmp_path: Path, protocol: int = 4) -> tuple[Path, Path]:
    marker = tmp_path / "PWNED"
    path = tmp_path / f"evil-p{protocol}.kv"
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=protocol))
    return path, marker


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_load_refuses_a_crafted_pickle_without_running_it(tmp_path, protocol):
    path, marker = evil_pickle(tmp_path, protocol)
    with pytest.raises(EmbeddingError) as err:
        load(path)
    assert "\n" not in str(err.value)
    if protocol:  # binary pickles are recognised as such and the way to load them is named
        assert "pickle" in str(err.value) and "format='gensim'" in str(err.value)
    assert not marker.exists()


def test_legacy_pickle_directory_is_refused_by_sniffing(tmp_path):
    path, marker = evil_pickle(tmp_path)
    legacy = tmp_path / "old"
    legacy.mkdir()
    path.rename(legacy / "vectors.kv")
    (legacy / "meta.json").write_text('{"format": "embedlab-vectors"}')
    with pytest.raises(EmbeddingError, match="written by embedlab 0.1.*pickle.*--format gensim"):
        load(legacy)
    assert not marker.exists()


def test_explicit_binary_formats_do_not_unpickle(tmp_path):
    path, marker = evil_pickle(tmp_path)
    for fmt in ("word2vec-binary", "fasttext-bin", "glove-text", "word2vec-text", "embedlab"):
        with pytest.raises(EmbeddingError):
            load(path, format=fmt)
    assert not marker.exists()


def test_object_array_in_a_vectors_directory_is_refused(tmp_path):
    """A saved directory whose .npy holds pickled objects (allow_pickle stays False)."""
    marker = tmp_path / "PWNED"
    out = tmp_path / "vec"
    Vectors(from_arrays(["a", "b"], np.ones((2, 3), np.float32))).save(out)
    evil = np.empty((2, 3), dtype=object)
    evil[0, 0] = _Evil(marker)
    np.save(out / "vectors.npy", evil, allow_pickle=True)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["vectors.npy"]["bytes"] = (out / "vectors.npy").stat().st_size
    (out / "manifest.json").write_text(json.dumps(manifest))
    for mmap in (True, False):
        with pytest.raises(EmbeddingError, match="vectors.npy: not a valid .npy array"):
            load(out, mmap=mmap)
    assert not marker.exists()


def test_embeddings_cli_refuses_a_crafted_pickle(tmp_path):
    from embedlab.cli.embeddings import app

    path, marker = evil_pickle(tmp_path)
    r = CliRunner().invoke(app, ["neighbors", str(path), "word"])
    assert r.exit_code == 1
    assert "pickle" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not marker.exists()


@pytest.mark.slow  # a real process: seconds
def test_train_refuses_a_crafted_pickle_as_embeddings(tmp_path):
    """``embedlab train --embeddings evil`` as a user runs it: one line, exit 1, no marker, no run."""
    path, marker = evil_pickle(tmp_path)
    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + "".join(
        f"good film number {i},pos\nbad film number {i},neg\n" for i in range(10)))
    out = tmp_path / "run"
    env = {**os.environ, "COLUMNS": "200"}
    p = subprocess.run(
        [sys.executable, "-m", "embedlab", "train", "--data", str(data), "--embeddings", str(path),
         "--epochs", "1", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert p.returncode != 0
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "pickle" in lines[0] and "Traceback" not in p.stderr, p.stderr
    assert not marker.exists() and not out.exists()


def test_gensim_format_is_loaded_only_when_named(tmp_path):
    """The explicit opt-in really is what runs the unpickler (this marker IS created)."""
    path, marker = evil_pickle(tmp_path)
    with pytest.raises(EmbeddingError):
        load(f"gensim:{path}")
    assert marker.exists()


def test_no_load_path_can_unpickle():
    """Every np.load in the package passes allow_pickle=False; no pickle/torch.load/joblib, YAML
    only through safe_load; the only unpickling call is gensim's KeyedVectors.load in
    formats.read_gensim (explicit format)."""
    offenders = []
    for file in SRC.rglob("*.py"):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in {"pickle", "dill", "joblib", "cloudpickle"} for n in names):
                    offenders.append(f"{file}:{node.lineno} imports pickle")
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = ast.unparse(node.func.value)
            if node.func.attr == "load" and owner in {"np", "numpy"}:
                kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
                if kw.get("allow_pickle") != "False":
                    offenders.append(f"{file}:{node.lineno} np.load without allow_pickle=False")
            if node.func.attr == "load" and owner == "torch":
                offenders.append(f"{file}:{node.lineno} torch.load")
            if owner == "yaml" and node.func.attr in {"load", "unsafe_load", "full_load",
                                                      "load_all", "unsafe_load_all"}:
                offenders.append(f"{file}:{node.lineno} yaml.{node.func.attr} (use safe_load)")
            if node.func.attr == "load" and "KeyedVectors" in owner and file.name != "formats.py":
                offenders.append(f"{file}:{node.lineno} gensim unpickling outside read_gensim")
    assert not offenders, offenders
    # the one YAML loader that is not yaml.safe_load (it refuses duplicate keys) is a SafeLoader
    from embedlab.config.schema import _UniqueKeyLoader

    assert issubclass(_UniqueKeyLoader, yaml.SafeLoader)


def test_a_trusted_gensim_file_is_usable_for_training_by_prefix(tmp_path):
    """The opt-in reaches training too: ``embeddings="gensim:PATH"`` (``--embeddings gensim:PATH``)."""
    from embedlab import TextClassifier

    words = ["good", "great", "fine", "bad", "awful", "poor", "film"]
    rng = np.random.default_rng(0)
    kv = Vectors(from_arrays(words, rng.normal(size=(len(words), 8)).astype(np.float32)))
    path = kv.export(tmp_path / "trusted.kv", format="gensim")
    texts = ["good film", "great film", "fine film", "bad film", "awful film", "poor film"] * 3
    labels = ["pos", "pos", "pos", "neg", "neg", "neg"] * 3
    clf = TextClassifier(model="bag", embeddings=f"gensim:{path}", epochs=2, val_size=0)
    clf.fit(texts, labels)
    assert clf.embeddings_coverage_ and clf.predict_proba(["good film"]).shape == (1, 2)
    with pytest.raises(EmbeddingError, match="pickle"):
        TextClassifier(model="bag", embeddings=str(path), epochs=1, val_size=0).fit(texts, labels)
