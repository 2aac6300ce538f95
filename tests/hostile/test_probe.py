"""Hostile inputs found by a second probe of issue 18: each one gave a traceback, a silent
surprise or a false success before its fix; each must now be one clear line, a non-zero exit
and nothing written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from embedlab.cli import app

WORDS = {"pos": "good great fine nice", "neg": "bad awful poor nasty", "neu": "table chair door wall"}


def _rows(n: int = 90) -> list[tuple[str, str]]:
    labels = list(WORDS)
    return [(f"{WORDS[labels[i % 3]]} {i}", labels[i % 3]) for i in range(n)]


def _refused(args: list[str], out: Path | None = None) -> str:
    """Run the CLI; assert exit 1/2, one error line, no traceback, nothing written at ``out``."""
    r = CliRunner().invoke(app, args)
    assert r.exit_code in (1, 2), r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    if out is not None:
        assert not out.exists()
    return r.output


@pytest.mark.parametrize("column", [pa.array([[1, 2]] * 90), pa.array([b"abc"] * 90)],
                         ids=["list", "binary"])
def test_parquet_text_column_of_lists_or_bytes_is_refused(tmp_path: Path, column) -> None:
    """A Parquet list/binary text column was turned into '[1, 2]' / "b'abc'" and trained on."""
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": column, "label": [lab for _, lab in _rows()]}), path)
    out = tmp_path / "run"
    msg = _refused(["train", "--data", str(path), "--epochs", "1", "--out", str(out),
                    "--set", "embeddings.source=null"], out)
    assert "column 'text'" in msg and "expected a string or number" in msg


def test_all_zero_vectors_are_never_an_answer(tmp_path: Path) -> None:
    """A word with an all-zero vector has cosine nan (0/0): gensim ranked it first, so it was
    printed as the analogy's answer and listed among the neighbours; as a query it gave 0.0 for
    every word (and a numpy RuntimeWarning)."""
    from embedlab.embeddings import load
    from embedlab.errors import EmbeddingError

    path = tmp_path / "v.txt"
    path.write_text("good 0.1 0.2 0.3\nzero 0 0 0\nbad 0.3 0.2 0.1\nnice 0.1 0.25 0.3\n"
                    "fine 0.12 0.2 0.28\n")
    v = load(path)
    assert [w for w, _ in v.neighbors("good")] == ["fine", "nice", "bad"]
    for method in ("add", "mul"):
        hits = v.analogy(["good", "nice"], ["bad"], method=method)  # type: ignore[arg-type]
        assert [w for w, _ in hits] == ["fine"]
    with pytest.raises(EmbeddingError, match="'zero' has an all-zero vector"):
        v.neighbors("zero")
    with pytest.raises(EmbeddingError, match="'zero' has an all-zero vector"):
        v.analogy(["good", "zero"], ["bad"])
    msg = _refused(["embeddings", "neighbors", str(path), "zero"])
    assert "all-zero vector" in msg


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in _rows()))
    return path


def test_an_option_and_a_set_of_the_same_key_that_disagree_are_refused(tmp_path: Path) -> None:
    """``--epochs 2 --set training.epochs=3`` trained 3 epochs without a word."""
    data, out = _csv(tmp_path), tmp_path / "run"
    msg = _refused(["train", "--data", str(data), "--epochs", "2", "--set", "training.epochs=3",
                    "--out", str(out)], out)
    assert "training.epochs" in msg and "disagrees" in msg
    msg = _refused(["train", "--data", str(data), "--set", f"data.path={tmp_path / 'e.csv'}",
                    "--out", str(out)], out)
    assert "data.path" in msg


def test_the_label_column_as_a_text_column_is_refused(tmp_path: Path) -> None:
    """``--text-column text --label-column text``: each text became its own class, and the
    error blamed too-small classes after a ten-line warning."""
    data, out = _csv(tmp_path), tmp_path / "run"
    msg = _refused(["train", "--data", str(data), "--text-column", "text", "--label-column",
                    "text", "--out", str(out)], out)
    assert "both the label column and a text column" in msg


def test_a_key_given_twice_in_a_config_file_is_refused(tmp_path: Path) -> None:
    """YAML keeps the last of two equal keys: a config naming ``data.path`` twice trained on
    the second file without a word."""
    data, out = _csv(tmp_path), tmp_path / "run"
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  path: {data}\n  path: {tmp_path / 'other.csv'}\n")
    msg = _refused(["train", "--config", str(config), "--out", str(out)], out)
    assert "key 'path' is given twice (line 3)" in msg


def test_a_set_key_given_twice_with_different_values_is_refused(tmp_path: Path) -> None:
    """``--set training.lr=0.1 --set training.lr=0.2`` kept the last value without a word."""
    data, out = _csv(tmp_path), tmp_path / "run"
    msg = _refused(["train", "--data", str(data), "--set", "training.lr=0.1", "--set",
                    "training.lr=0.2", "--out", str(out)], out)
    assert "training.lr is given twice (0.1 and 0.2)" in msg


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A real fastText run trained for one epoch on generated text."""
    folder = tmp_path_factory.mktemp("probe")
    out = folder / "run"
    r = CliRunner().invoke(app, ["train", "--data", str(_csv(folder)), "--epochs", "1", "--out",
                                 str(out), "--set", "embeddings.source=null"])
    assert r.exit_code == 0, r.output
    return out


def test_an_output_onto_a_file_of_a_run_is_refused_even_with_overwrite(tiny_run: Path,
                                                                      tmp_path: Path) -> None:
    """``evaluate RUN --out RUN/metrics.json --overwrite`` replaced the run's own file: exit 0,
    and every later load of the run said it was damaged."""
    from embedlab.artifacts import load, verify_run
    from embedlab.errors import ArtifactError
    from embedlab.inference.files import predict_file

    data = _csv(tmp_path)
    before = (tiny_run / "metrics.json").read_bytes()
    for option, name in (("--out", "metrics.json"), ("--plot", "confusion_matrix.png")):
        msg = _refused(["evaluate", str(tiny_run), "--data", str(data), option,
                        str(tiny_run / name), "--overwrite"])
        assert "is a file of the embedlab-run directory" in msg
    with pytest.raises(ArtifactError, match="would damage"):
        predict_file(load(tiny_run), data, tiny_run / "history.json", overwrite=True)
    assert (tiny_run / "metrics.json").read_bytes() == before
    verify_run(tiny_run)
    r = CliRunner().invoke(app, ["evaluate", str(tiny_run), "--data", str(data), "--out",
                                 str(tiny_run / "eval.json")])  # a new file beside them is fine
    assert r.exit_code == 0, r.output
    (tiny_run / "eval.json").unlink()


def test_an_ensemble_of_one_run_twice_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    """``ensemble RUN RUN`` (or ``RUN ./RUN/``) wrote "an ensemble of 2 runs": one model."""
    from embedlab.errors import ConfigError
    from embedlab.inference.ensemble import make_ensemble

    out = tmp_path / "ens"
    msg = _refused(["ensemble", str(tiny_run), f"{tiny_run}/", "--out", str(out)], out)
    assert "members 1 and 2 are one run" in msg
    with pytest.raises(ConfigError, match="one run"):
        make_ensemble([tiny_run, tiny_run])


@pytest.mark.parametrize("seconds", ["nan", "inf"])
def test_autotune_refuses_a_budget_that_is_not_a_finite_number(tmp_path: Path, seconds: str) -> None:
    """``--autotune nan`` passed the ``seconds <= 0`` check and ran a search that could never
    finish a trial; ``inf`` has no end."""
    pytest.importorskip("optuna")
    data, out = _csv(tmp_path), tmp_path / "run"
    msg = _refused(["train", "--data", str(data), "--epochs", "1", "--autotune", seconds,
                    "--out", str(out)], out)
    assert "positive, finite number of seconds" in msg


def test_a_projection_with_nothing_to_spread_is_refused(tmp_path: Path) -> None:
    """``embeddings plot V good good`` wrote a plot of one point with a numpy RuntimeWarning
    (PCA's 0/0), exit 0; words with one equal vector did the same."""
    vectors = tmp_path / "v.txt"
    vectors.write_text("good 0.1 0.2 0.3\nbad 0.3 0.2 0.1\na 0 0 0\nb 0 0 0\n")
    out = tmp_path / "p.png"
    msg = _refused(["embeddings", "plot", str(vectors), "good", "good", "--out", str(out)], out)
    assert "words given more than once: 'good'" in msg
    msg = _refused(["embeddings", "plot", str(vectors), "a", "b", "--out", str(out)], out)
    assert "all have the same vector" in msg


def test_the_training_file_as_its_own_test_file_is_refused(tmp_path: Path) -> None:
    """``--data d.csv --test-data ./d.csv`` reported test scores on the training rows, exit 0."""
    data, out = _csv(tmp_path), tmp_path / "run"
    msg = _refused(["train", "--data", str(data), "--test-data", f"{tmp_path}/./d.csv",
                    "--epochs", "1", "--set", "embeddings.source=null", "--out", str(out)], out)
    assert "the test file is the training file" in msg


def test_a_compressed_data_file_is_named_as_such(tmp_path: Path) -> None:
    """``--data d.csv.gz`` said "cannot decode byte 0x8b ... try --encoding latin-1", and with
    latin-1 it complained of a 'LABEL text' line of binary garbage."""
    import gzip

    data = _csv(tmp_path)
    packed = tmp_path / "d.csv.gz"
    packed.write_bytes(gzip.compress(data.read_bytes()))
    out = tmp_path / "run"
    for extra in ([], ["--encoding", "latin-1"]):
        msg = _refused(["train", "--data", str(packed), "--out", str(out), *extra], out)
        assert "is gzip-compressed, not text; extract it first" in msg


@pytest.mark.parametrize("seconds", ["nan", "inf"])
def test_search_refuses_a_timeout_that_is_not_a_finite_number(tmp_path: Path, seconds: str) -> None:
    """``search SPACE --timeout nan`` passed ``timeout <= 0``, ran no trial, exit 0, and wrote a
    study folder with a 'best' grid chosen from nothing."""
    pytest.importorskip("optuna")
    data, out = _csv(tmp_path), tmp_path / "study"
    space = tmp_path / "space.yaml"
    space.write_text(f"base:\n  data:\n    path: {data}\n  training:\n    epochs: 1\n"
                     "space:\n  training.lr: {loguniform: [0.01, 0.1]}\n")
    msg = _refused(["search", str(space), "--out", str(out), "--timeout", seconds], out)
    assert "positive, finite number of seconds" in msg


def test_an_analogy_whose_words_cancel_out_is_refused(tmp_path: Path) -> None:
    """``analogy --positive good --negative good`` printed every word at cosine 0.0000, exit 0."""
    path = tmp_path / "v.txt"
    path.write_text("good 0.1 0.2 0.3\nbad 0.3 0.2 0.1\nnice 0.1 0.25 0.3\n")
    msg = _refused(["embeddings", "analogy", str(path), "--positive", "good", "--negative", "good"])
    assert "'good' is both a positive and a negative word" in msg
