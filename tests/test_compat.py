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
