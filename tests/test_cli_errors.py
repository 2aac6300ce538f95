"""Every CLI error path, in-process (typer's CliRunner): one line on stderr, no traceback, and the
exit code — 1 for a bad input, 2 for a usage error, 130 for Ctrl-C — for every subcommand."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from embedlab.cli import app

runner = CliRunner()


def invoke(*args: object, **kwargs):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"}, prog_name="embedlab",
                         **kwargs)


def one_line(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def command_paths(group=None, prefix=()) -> list[tuple[str, ...]]:
    group = group or typer.main.get_command(app)
    paths = []
    for name, cmd in sorted(group.commands.items()):
        if hasattr(cmd, "commands"):
            paths += command_paths(cmd, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


@pytest.fixture(scope="module")
def vectors_dir(tmp_path_factory) -> Path:
    from embedlab.embeddings import Vectors
    from embedlab.embeddings.vectors import from_arrays

    words = ["king", "queen", "man", "woman", "cat", "dog"]
    rng = np.random.default_rng(0)
    out = tmp_path_factory.mktemp("vec") / "tiny"
    Vectors(from_arrays(words, rng.normal(size=(6, 4)).astype(np.float32)), name="tiny").save(out)
    return out


@pytest.fixture
def foreign(tmp_path) -> Path:
    """A project directory embedlab did not write."""
    d = tmp_path / "proj"
    d.mkdir()
    (d / "notes.txt").write_text("mine")
    (d / "corpus.txt").write_text("the cat sat on the mat\n" * 20)
    return d


def untouched(d: Path) -> bool:
    return sorted(p.name for p in d.iterdir()) == ["corpus.txt", "notes.txt"] and \
        (d / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------------------ usage errors: exit 2
@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_answers_an_unknown_option_with_one_usage_line(path):
    line = one_line(invoke(*path, "x", "--no-such-flag"), 2)
    assert "--no-such-flag" in line and f"'embedlab {' '.join(path)} --help'" in line


@pytest.mark.parametrize(("args", "expected"), [
    (["train", "--epoch", "3"], "No such option: --epoch (Possible options: --epochs)"),
    (["train", "--epochs", "abc"], "Invalid value for '--epochs'"),
    (["predict", "run", "hello", "--top-k", "abc"], "Invalid value for '--top-k'"),
    (["embeddings", "train", "c.txt", "--out", "x", "--dim", "abc"], "Invalid value for '--dim'"),
    (["embeddings", "train", "c.txt"], "Missing option '--out'"),
    (["evaluate"], "Missing argument 'RUN'"),
    (["embeddings", "neighbors", "tiny"], "Missing argument 'WORD'"),
    (["trian"], "No such command 'trian'. Did you mean 'train'?"),
    (["embeddings", "neighbours"], "No such command 'neighbours'"),
    (["embeddings", "analogy", "tiny", "king"], "put words after --positive or --negative"),
    (["embeddings", "analogy", "tiny"], "analogy needs --positive words"),
])
def test_usage_errors_are_one_line_with_exit_2(args, expected):
    line = one_line(invoke(*args), 2)
    assert expected.lower() in line.lower()
    assert re.search(r"\(see 'embedlab [a-z ]*--help'\)$", line)


@pytest.mark.parametrize("args", [[], ["embeddings"], ["datasets"], ["models"]])
def test_a_group_without_a_command_shows_its_help_and_exits_2(args):
    r = invoke(*args)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "Usage: embedlab" in r.output and "Commands" in r.output


# ------------------------------------------------------------------------ input errors: exit 1
def test_train_errors(tmp_path, foreign):
    line = one_line(invoke("train", "--data", tmp_path / "missing.csv", "--out", tmp_path / "r"), 1)
    assert "missing.csv" in line
    line = one_line(invoke("train", "--dataset", "ag_news_sample", "--out", foreign,
                           "--overwrite"), 1)
    assert str(foreign) in line and "did not write" in line and untouched(foreign)
    line = one_line(invoke("train", "--dataset", "ag_news_sample", "--out",
                           foreign / "notes.txt" / "run"), 1)
    assert "notes.txt is a file" in line
    assert not (tmp_path / "r").exists()


def test_demo_refuses_a_directory_it_did_not_write(foreign):
    line = one_line(invoke("demo", "--out", foreign), 1)
    assert "did not write" in line and untouched(foreign)


@pytest.mark.parametrize("command", [["evaluate"], ["predict"], ["serve"]])
def test_commands_on_a_missing_run(tmp_path, command):
    extra = {"predict": ["hello"], "serve": ["--port", "0"]}.get(command[0], [])
    args = [*command, tmp_path / "no-run", *extra]
    line = one_line(invoke(*args), 1)
    assert "no-run" in line


def test_a_damaged_run_is_one_line_for_every_command_that_loads_it(tmp_path):
    import shutil

    from embedlab.artifacts import write_manifest

    run = tmp_path / "run"
    shutil.copytree(Path(__file__).parent / "data" / "golden_run_v0" / "bag", run)
    weights = run / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated, checksums recomputed
    write_manifest(run)
    for args in (["predict", run, "hello"], ["evaluate", run, "--dataset", "ag_news_sample"]):
        line = one_line(invoke(*args), 1)
        assert "this run directory is damaged: model.safetensors" in line


@pytest.mark.parametrize("args", [["datasets", "info", "trecc"], ["datasets", "download", "trecc"]])
def test_datasets_unknown_name(args):
    assert "did you mean 'trec'" in one_line(invoke(*args), 1)


def test_embeddings_query_errors(vectors_dir, tmp_path):
    line = one_line(invoke("embeddings", "neighbors", vectors_dir, "unknownword"), 1)
    assert "'unknownword'" in line
    line = one_line(invoke("embeddings", "analogy", vectors_dir, "--positive", "king", "qqzzxv"), 1)
    assert "'qqzzxv'" in line
    line = one_line(invoke("embeddings", "plot", vectors_dir, "king", "qqzzxv", "--out",
                           tmp_path / "p.png"), 1)
    assert "qqzzxv" in line and not (tmp_path / "p.png").exists()
    for command in ("bias", "evaluate", "neighbors"):
        args = ["embeddings", command, tmp_path / "nothing-here"] + (["x"] if command == "neighbors" else [])
        assert "nothing-here" in one_line(invoke(*args), 1)


def test_embeddings_train_and_convert_never_replace_what_they_did_not_write(foreign, vectors_dir):
    corpus = foreign / "corpus.txt"
    for extra in ([], ["--overwrite"]):
        line = one_line(invoke("embeddings", "train", corpus, "--out", foreign, "--min-count", "1",
                               *extra), 1)
        assert "did not write" in line and untouched(foreign)
        line = one_line(invoke("embeddings", "convert", vectors_dir, "--to", "embedlab", "--out",
                               foreign, *extra), 1)
        assert "did not write" in line and untouched(foreign)
    line = one_line(invoke("embeddings", "convert", vectors_dir, "--to", "glove-text", "--out",
                           foreign / "notes.txt"), 1)
    assert "already exists" in line and untouched(foreign)
    line = one_line(invoke("embeddings", "train", foreign / "missing.txt", "--out",
                           foreign / "vec"), 1)
    assert "missing.txt" in line and untouched(foreign)


@pytest.mark.parametrize("suffix", [".tab", ".ndjson", ".pq"])
def test_embeddings_train_reads_every_suffix_of_the_one_table_as_a_table(tmp_path, suffix):
    """`embeddings train` kept its own copy of the table suffixes: a .tab file trained as a
    plain corpus (its header line a sentence) instead of asking for --text-column."""
    corpus = tmp_path / f"corpus{suffix}"
    corpus.write_text("text\tlabel\ngood film here\tpos\n", encoding="utf-8")
    line = one_line(invoke("embeddings", "train", corpus, "--out", tmp_path / "vec"), 1)
    assert f"corpus{suffix} is a table; name the text column(s) with --text-column" in line
    assert not (tmp_path / "vec").exists()


def test_embeddings_overwrite_replaces_our_own_vectors(tmp_path, vectors_dir):
    from embedlab.embeddings import load

    out = tmp_path / "copy"
    r = invoke("embeddings", "convert", vectors_dir, "--to", "embedlab", "--out", out)
    assert r.exit_code == 0, r.output
    assert "already exists" in one_line(
        invoke("embeddings", "convert", vectors_dir, "--to", "embedlab", "--out", out,
               "--limit", "2"), 1)
    assert len(load(out)) == 6
    r = invoke("embeddings", "convert", vectors_dir, "--to", "embedlab", "--out", out,
               "--limit", "2", "--overwrite")
    assert r.exit_code == 0, r.output
    assert load(out).words == load(vectors_dir).words[:2]


# ------------------------------------------------------------------------ Ctrl-C: exit 130
def test_ctrl_c_inside_a_command_exits_130_with_one_line(monkeypatch, tmp_path):
    from embedlab.training import run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "train_run", interrupted)
    line = one_line(invoke("train", "--dataset", "ag_news_sample", "--out", tmp_path / "r"), 130)
    assert line == "error: interrupted; nothing was written"


# ------------------------------------------------------------------------ bad values found by probing
@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("labelled") / "lab.csv"
    path.write_text("text,label\nstocks fell on oil news,Business\nthe striker scored,Sports\n")
    return path


def test_names_and_non_runs_are_one_line(tmp_path, vectors_dir):
    assert "unknown dataset 'nope'" in one_line(invoke("datasets", "info", "nope"), 1)
    line = one_line(invoke("embeddings", "neighbors", "nope", "x"), 1)
    assert line.startswith("error: unknown embeddings source 'nope'; known: ")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("mine")
    for args in (["evaluate", tmp_path / "notes"], ["predict", tmp_path / "notes", "hello"],
                 ["export", tmp_path / "notes", "--out", tmp_path / "exp"]):
        assert "notes" in one_line(invoke(*args), 1)
    assert not (tmp_path / "exp").exists()


@pytest.mark.parametrize(("args", "option"), [
    (["predict", "RUN", "hello", "--top-k", "0"], "--top-k"),
    (["predict", "RUN", "hello", "--top-k", "-1"], "--top-k"),
    (["predict", "RUN", "--file", "LAB", "--top-k", "0"], "--top-k"),
    (["embeddings", "neighbors", "VEC", "king", "--topn", "0"], "--topn"),
    (["embeddings", "analogy", "VEC", "--topn", "-1", "--positive", "king"], "--topn"),
    (["embeddings", "bias", "VEC", "--topn", "0"], "--topn"),
    (["embeddings", "bias", "VEC", "--permutations", "0"], "--permutations"),
    (["embeddings", "evaluate", "VEC", "--restrict-vocab", "0"], "--restrict-vocab"),
])
def test_counts_below_one_are_usage_errors(args, option, trained_run, vectors_dir, labelled):
    """--topn -1 printed an empty table, --restrict-vocab 0 scored nothing, both with exit 0."""
    swap = {"RUN": trained_run("bag"), "VEC": vectors_dir, "LAB": labelled}
    line = one_line(invoke(*[swap.get(a, a) for a in args]), 2)
    assert f"Invalid value for '{option}'" in line


def test_predict_file_errors_are_one_line(trained_run, labelled, tmp_path):
    run = trained_run("bag")
    assert "missing.csv: file not found" in one_line(
        invoke("predict", run, "--file", tmp_path / "missing.csv"), 1)
    for encoding in ("nope", "hex", "rot13"):  # LookupError tracebacks before
        line = one_line(invoke("predict", run, "--file", labelled, "--encoding", encoding,
                               "--out", tmp_path / "p.csv"), 1)
        assert f"unknown encoding '{encoding}'" in line
    assert "no column 'nope'" in one_line(
        invoke("predict", run, "--file", labelled, "--text-column", "nope"), 1)
    assert not (tmp_path / "p.csv").exists()


def test_an_image_suffix_matplotlib_cannot_write_is_refused_before_any_work(
        trained_run, labelled, vectors_dir, tmp_path):
    """Both were a matplotlib ValueError traceback, after the work (and after evaluate --out)."""
    line = one_line(invoke("evaluate", trained_run("bag"), "--data", labelled, "--plot",
                           tmp_path / "cm.xyz", "--out", tmp_path / "m.json"), 1)
    assert "cm.xyz: unknown image format '.xyz'; use " in line and ".png" in line
    line = one_line(invoke("embeddings", "plot", vectors_dir, "king", "queen", "--out",
                           tmp_path / "p.xyz"), 1)
    assert "p.xyz: unknown image format '.xyz'" in line
    assert list(tmp_path.iterdir()) == []


def test_evaluate_writes_plot_and_metrics_whole_into_new_folders(trained_run, labelled, tmp_path):
    """--plot into a missing folder was "No such file or directory" after --out was written."""
    out, plot = tmp_path / "a" / "m.json", tmp_path / "b" / "cm.svg"
    r = invoke("evaluate", trained_run("bag"), "--data", labelled, "--plot", plot, "--out", out)
    assert r.exit_code == 0, r.output
    assert plot.read_text().lstrip().startswith("<?xml") and "accuracy" in out.read_text()
    assert [p.name for p in out.parent.iterdir()] == ["m.json"]
    assert [p.name for p in plot.parent.iterdir()] == ["cm.svg"]


def test_evaluate_conflicting_inputs_are_usage_errors(trained_run, labelled, tmp_path):
    run = trained_run("bag")
    line = one_line(invoke("evaluate", run, "--data", labelled, "--dataset", "ag_news_sample"), 2)
    assert "give either --data FILE or --dataset NAME, not both" in line
    same = tmp_path / "x.png"
    line = one_line(invoke("evaluate", run, "--data", labelled, "--out", same, "--plot", same), 2)
    assert "--out and --plot name the same file" in line and not same.exists()


@pytest.mark.parametrize(("extra", "expected"), [
    (["--punctuation", "nope"], "unknown --punctuation 'nope'; known: separate, remove, keep"),
    (["--export", "nope"], "unknown --export format 'nope'"),
    (["--export", "fasttext-bin"], "--export fasttext-bin needs --method fasttext"),
])
def test_embeddings_train_refuses_bad_options_before_training(tmp_path, extra, expected):
    """--punctuation nope was a pydantic traceback; --export nope exited 1 after the vectors
    were saved at --out."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat with the dog\n" * 50)
    line = one_line(invoke("embeddings", "train", corpus, "--out", tmp_path / "vec",
                           "--min-count", "1", "--epochs", "1", *extra), 1)
    assert expected in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt"]
