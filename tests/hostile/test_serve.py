"""A hostile client and hostile run directories against a real `embedlab serve` (uvicorn on a
free loopback port): a run whose weights are NaN is refused at start-up; a run that loads but
whose weights overflow for one word answers that word with a named JSON 500, never a traceback,
a bare 500 or a 200 full of nulls; JSON nested too deeply is a 422 like any other wrong JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import torch
from safetensors.torch import load_file, save_file

from embedlab.artifacts import write_manifest
from embedlab.errors import ArtifactError
from embedlab.inference.predictor import Predictor
from embedlab.serve import create_app

WORD = "oil"  # in the AG News sample's vocabulary, not in the server's warm-up sentence


@pytest.fixture(scope="module")
def run_dir(trained_run) -> Path:
    """A tiny cnn trained through the real pipeline on the shipped AG News sample."""
    return trained_run("cnn", **{"data.limit": 200, "model.params.filters": 8,
                                 "model.params.hidden": 16, "embeddings.dim": 8,
                                 "training.epochs": 1, "training.seed": 1})


def corrupted(run_dir: Path, dest: Path, edit) -> Path:
    """A copy of the run with ``edit(weights, predictor)`` applied to its safetensors weights
    and its manifest recomputed: a model saved before training refused non-finite values."""
    shutil.copytree(run_dir, dest)
    weights = load_file(str(dest / "model.safetensors"))
    edit(weights, Predictor.load(run_dir))
    save_file(weights, str(dest / "model.safetensors"))
    (dest / "manifest.json").unlink()
    write_manifest(dest)
    return dest


def nan_weights(weights: dict, predictor: Predictor) -> None:
    weights["head.output.weight"][0, 0] = float("nan")


def overflow_on_word(weights: dict, predictor: Predictor) -> None:
    """Finite weights whose first convolution overflows to inf on WORD (NaN probabilities)."""
    row = predictor.vocab.stoi[WORD]
    big = torch.finfo(torch.float32).max
    weights["embedding.weight"][row] = big * torch.sign(weights["convs.0.weight"][0, :, 0])


@pytest.fixture(scope="module")
def overflowing(run_dir, tmp_path_factory) -> Path:
    out = corrupted(run_dir, tmp_path_factory.mktemp("overflow") / "ovf", overflow_on_word)
    probs = Predictor.load(out).predict_proba([f"{WORD} prices climb", "stocks fall"])
    assert torch.tensor(probs[0]).isnan().all() and torch.tensor(probs[1]).isfinite().all()
    return out


def strict_json(response: httpx.Response) -> dict:
    def no_constants(name):
        raise AssertionError(f"non-JSON constant {name} in the response")
    return json.loads(response.text, parse_constant=no_constants)


def test_a_run_with_nan_weights_is_refused_before_the_port_opens(run_dir, tmp_path, free_port):
    bad = corrupted(run_dir, tmp_path / "nan-run", nan_weights)
    with pytest.raises(ArtifactError, match=r"weights are not finite .*'head\.output\.weight'"):
        create_app([bad], warm_up=False)
    proc = subprocess.run([sys.executable, "-m", "embedlab", "serve", str(bad), "--port",
                           str(free_port), "--no-access-log"], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 1, out
    assert "Traceback" not in out and "weights are not finite" in out, out
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{free_port}/healthz", timeout=2)


def test_non_finite_answers_are_a_named_json_error_on_a_real_server(overflowing, embedlab_server):
    with embedlab_server(f"ovf={overflowing}") as base:
        ok = httpx.post(f"{base}/v1/models/ovf/predict", json={"texts": ["stocks fall"]})
        assert ok.status_code == 200 and strict_json(ok)["predictions"][0]["status"] == "ok"

        bad = httpx.post(f"{base}/v1/models/ovf/predict",
                         json={"texts": ["stocks fall", f"{WORD} prices climb"]})
        body = strict_json(bad)
        assert bad.status_code == 500, body
        assert list(body) == ["detail"] and "\n" not in body["detail"]
        assert "model 'ovf' produced non-finite probabilities for text 1" in body["detail"]

        why = httpx.post(f"{base}/v1/models/ovf/explain", json={"text": f"{WORD} prices climb"})
        assert why.status_code == 500 and "non-finite probabilities" in strict_json(why)["detail"]

        # the server keeps answering, and the metrics count the errors by route
        assert httpx.get(f"{base}/readyz").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        assert 'embedlab_http_errors_total{route="/v1/models/{name}/predict",status="500"} 1.0' in metrics


def test_json_nested_too_deeply_is_a_422_like_any_wrong_json(run_dir, embedlab_server):
    deep = '{"texts": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with embedlab_server(f"ag={run_dir}") as base:
        r = httpx.post(f"{base}/v1/models/ag/predict", content=deep,
                       headers={"content-type": "application/json"})
        body = strict_json(r)
        assert r.status_code == 422, body
        assert body["detail"] == "body: not valid JSON (nested too deeply to read)"
        assert body["errors"] == [{"loc": ["body"], "msg": "not valid JSON (nested too deeply to read)",
                                   "type": "json_invalid"}]
        spec = httpx.get(f"{base}/openapi.json").json()
        documented = spec["paths"]["/v1/models/{name}/predict"]["post"]["responses"]
        assert "422" in documented and "400" not in documented
