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
