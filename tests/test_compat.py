"""Old run directories keep loading: the golden runs in tests/data/golden_run_v0 were written by
the code before the model refactor and must predict exactly what they predicted then."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import embedlab

GOLDEN = Path(__file__).parent / "data" / "golden_run_v0"
RECORDED = json.loads((GOLDEN / "predictions.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(RECORDED["models"]))
def test_golden_run_predicts_what_it_predicted_when_written(name: str) -> None:
    expected = RECORDED["models"][name]
    predictor = embedlab.load(GOLDEN / name)
    assert predictor.classes == expected["classes"]
    np.testing.assert_allclose(
        predictor.predict_proba(RECORDED["texts"]), np.array(expected["probabilities"]), atol=1e-6
    )


def test_golden_runs_are_version_1_and_load_as_version_2() -> None:
    for name in RECORDED["models"]:
        info = json.loads((GOLDEN / name / "model.json").read_text(encoding="utf-8"))
        assert info["name"] == name  # written before versioning: means embedlab.<name>.v1
        assert embedlab.load(GOLDEN / name).model.config["name"] == f"embedlab.{name}.v2"


def test_a_new_run_records_its_versioned_architecture(tmp_path) -> None:
    from embedlab.config import RunConfig
    from embedlab.training.run import train_run

    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 150},
                               "model": {"name": "rnn", "params": {"hidden_size": 8}},
                               "embeddings": {"dim": 8},
                               "training": {"epochs": 1, "progress": False}})
    result = train_run(cfg, tmp_path / "run")
    info = json.loads((tmp_path / "run" / "model.json").read_text(encoding="utf-8"))
    saved = RunConfig.from_yaml(tmp_path / "run" / "config.yaml")
    assert info["name"] == saved.model.name == "embedlab.rnn.v2"
    assert saved.model.params == info["params"] and info["params"]["hidden"] == [100]
    texts = RECORDED["texts"]
    np.testing.assert_allclose(embedlab.load(tmp_path / "run").predict_proba(texts),
                               result.predictor.predict_proba(texts), atol=1e-6)


def test_registered_architectures_keep_their_parameters_and_weights() -> None:
    """A versioned name must keep meaning the same network. If this fails, a registered
    architecture was changed: register the change as a new version (with a translation of the
    old one in ``embedlab.models.compat``) and add it to ``tests/data/architectures.json``;
    never edit an existing entry."""
    from embedlab.models import EmbeddingSpec, build_model
    from embedlab.models.registry import architecture_names

    recorded = json.loads((GOLDEN.parent / "architectures.json").read_text(encoding="utf-8"))
    assert set(architecture_names()) <= set(recorded)
    for name in architecture_names():
        expected = recorded[name]
        model = build_model(name, vocab_size=10, num_classes=3, embedding=EmbeddingSpec(dim=4))
        assert model.config["params"] == expected["params"], name
        shapes = {key: list(value.shape) for key, value in model.state_dict().items()}
        assert shapes == expected["state_dict"], name
