"""What the docs and the help say holds: the demo trains the default model, the README's imports
and file formats work as written, an unknown option gets a useful suggestion, tables stay whole
when piped, and a slow command says it started before its heavy imports."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from embedlab.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"}, prog_name="embedlab")


@pytest.mark.slow
def test_demo_trains_the_default_model_as_its_help_says(tmp_path):
    from embedlab.config import RunConfig

    help_text = " ".join(invoke("demo", "--help").stdout.split())
    assert "Train the default model" in help_text
    r = invoke("demo", "--epochs", "1", "--out", tmp_path / "demo")
    assert r.exit_code == 0, r.output
    trained = yaml.safe_load((tmp_path / "demo" / "config.yaml").read_text())["model"]["name"]
    default = RunConfig().model.name
    assert trained == default or trained.startswith(f"embedlab.{default}."), (trained, default)


def test_explanations_from_html_is_importable_from_embedlab_explain_as_the_readme_says(trained_run):
    import embedlab
    from embedlab.explain import explain, explanations_from_html, render_html_page

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "`explanations_from_html(page)`" in readme
    predictor = embedlab.load(trained_run("fasttext"))
    made = explain(predictor, ["Stocks fall as oil prices climb"], method="exact")
    back = explanations_from_html(render_html_page(made))
    assert [e.to_json() for e in back] == [e.to_json() for e in made]


def test_the_readme_shows_a_search_space_file_that_loads(tmp_path):
    from embedlab.experiments.search import load_space

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("A space file"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "no yaml block after 'A space file' in the README"
    (tmp_path / "space.yaml").write_text(block.group(1), encoding="utf-8")
    space = load_space(tmp_path / "space.yaml")
    assert space.name == "trec-cnn"
    assert {p.key: p.kind for p in space.params} == {
        "training.lr": "loguniform", "model.params.filters": "int",
        "model.params.dropout": "uniform", "model.params.widths": "choice"}


@pytest.mark.parametrize(("args", "suggested"), [
    (["train", "--bogus"], None),
    (["predict", "run", "--bogus"], None),
    (["train", "--ouut", "x"], "--out"),
    (["train", "--epoch", "3"], "--epochs"),
    (["embeddings", "train", "--cbw"], "--cbow"),
])
def test_an_unknown_option_suggests_only_close_names_of_that_command(args, suggested):
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: No such option"), r.stderr
    if suggested is None:
        assert "Possible options" not in lines[0], lines[0]
    else:
        assert f"(Possible options: {suggested})" in lines[0], lines[0]


def test_tables_keep_one_line_per_row_when_piped():
    """With no terminal and no COLUMNS, rich used to draw at 80 columns and fold every cell."""
    from embedlab.embeddings import SOURCES

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = subprocess.run([sys.executable, "-m", "embedlab", "embeddings", "list"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                         check=True, timeout=120).stdout
    rows = [ln for ln in out.splitlines() if ln.startswith("│")]
    assert len(rows) == len(SOURCES), out
    assert {ln.split("│")[1].strip() for ln in rows} == set(SOURCES)
    header = next(ln for ln in out.splitlines() if ln.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")][-1] == "installed", header


def test_train_says_it_started_before_importing_torch(tmp_path):
    """On a terminal, the first line comes before torch is imported (here torch cannot be, so
    the import fails right after it)."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from embedlab.cli import main\n"
            f"main(['train', '--dataset', 'ag_news_sample', '--out', {str(tmp_path / 'run')!r}])\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=120) != 0
    text = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode(errors="replace"))
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("training: loading PyTorch"), text
    assert "torch" in text[text.index(lines[1]):], text  # then the import of torch failed


def test_loading_a_file_or_a_foreign_folder_says_what_it_is(tmp_path):
    # load(file) used to say "run directory not found" for a path that exists, and a folder
    # with nothing of a run in it "incomplete run ... (was training interrupted?)"
    import embedlab
    from embedlab.errors import ArtifactError

    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "photos").mkdir()
    with pytest.raises(ArtifactError, match="not a run directory but a file"):
        embedlab.load(tmp_path / "notes.txt")
    with pytest.raises(ArtifactError, match=r"not a run directory \(no manifest.json"):
        embedlab.load(tmp_path / "photos")
    with pytest.raises(ArtifactError, match="run directory not found"):
        embedlab.load(tmp_path / "nothing")
    result = invoke("predict", tmp_path / "notes.txt", "some text")
    assert result.exit_code == 1
    assert "not a run directory but a file" in result.output and "Traceback" not in result.output
