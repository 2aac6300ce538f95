"""Fuzz the HTTP API from its own OpenAPI schema with schemathesis: valid and invalid requests
to every operation, checked against the schema, and never a server error (5xx)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from embedlab.config import RunConfig
from embedlab.serve import ServeLimits, create_app
from embedlab.training.run import train_run


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    cfg = RunConfig.from_dict({
        "data": {"dataset": "ag_news_sample", "limit": 300},
        "model": {"name": "cnn", "params": {"filters": 8, "hidden": 16}},
        "embeddings": {"dim": 8, "source": None},
        "training": {"epochs": 1, "progress": False},
    })
    out: Path = tmp_path_factory.mktemp("fuzz") / "ag"
    train_run(cfg, out)
    # small limits so the fuzzer reaches them (and the 413 path) often
    return create_app([out], limits=ServeLimits(max_texts=8, max_chars=200, max_body_bytes=4096))


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    # a body over the size limit is rejected with 413 before its content is looked at
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


def _check(case) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
    # status code, content type and body match the schema. Not "schema-valid data is accepted":
    # a text that preprocessing leaves without tokens ("", "  ") fits the schema and is a 422 by
    # design (the team's empty-text decision); test_serve.py checks that answer.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
    if (response.headers.get("content-type") or [""])[0].startswith("application/json"):
        # strict JSON: no NaN or Infinity
        json.loads(response.text, parse_constant=lambda c: pytest.fail(f"{c} in {response.text[:200]}"))
    if case.path.endswith("/predict") and response.status_code == 200:
        for p in response.json()["predictions"]:
            probs = [c["probability"] for c in p["top_k"]]
            assert probs == sorted(probs, reverse=True) and all(0 <= x <= 1 for x in probs)
            assert len(probs) < 4 or math.isclose(sum(probs), 1.0, abs_tol=1e-4)


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_api_never_fails_on_any_input(api_schema, mode):
    """Requests generated from the schema (valid ones, then invalid ones) to every operation."""

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=api_schema.as_strategy(mode))
    def run(case):
        _check(case)

    run()
