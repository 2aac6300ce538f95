"""The HTTP API: every endpoint and every bad input through FastAPI's TestClient, start-up refusal
of broken runs, and the real thing — `embedlab serve` with two uvicorn workers on loopback."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import embedlab
from embedlab.artifacts import write_manifest
from embedlab.errors import ArtifactError, ConfigError
from embedlab.serve import ServeLimits, create_app
from embedlab.serve.models import parse_model_spec

PREDICT = "/v1/models/ag/predict"


@pytest.fixture(scope="module")
def run_dir(trained_run) -> Path:
    """A small cnn trained through the pipeline on the shipped AG News sample (metrics included)."""
    return trained_run("cnn", **{"data.limit": 600, "model.params.filters": 16,
                                 "model.params.hidden": 32, "embeddings.dim": 16,
                                 "training.epochs": 3, "training.seed": 1})


@pytest.fixture(scope="module")
def client(run_dir) -> TestClient:
    with TestClient(create_app({"ag": run_dir})) as c:
        yield c


@pytest.fixture(scope="module")
def small(run_dir) -> TestClient:
    limits = ServeLimits(max_texts=3, max_chars=40, max_body_bytes=600)
    with TestClient(create_app({"ag": run_dir}, limits=limits, warm_up=False)) as c:
        yield c


def strict_json(response) -> dict:
    """Parse refusing NaN/Infinity, which are not JSON."""
    def no_constants(name):
        raise AssertionError(f"non-JSON constant {name} in the response")
    return json.loads(response.text, parse_constant=no_constants)


# ----- health, models, cards -------------------------------------------------------------------
def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "models": ["ag"]}


def test_models_list_and_card_come_from_the_run_files(client, run_dir):
    listed = client.get("/v1/models").json()["models"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    info = json.loads((run_dir / "model.json").read_text())
    checksum = hashlib.sha256((run_dir / "manifest.json").read_bytes()).hexdigest()
    assert listed == [{"name": "ag", "architecture": info["name"], "classes": ["World", "Sports", "Business", "Sci/Tech"],
                       "test_accuracy": metrics["test"]["accuracy"], "checksum": checksum}]
    card = strict_json(client.get("/v1/models/ag"))
    assert card["classes"] == json.loads((run_dir / "labels.json").read_text())["classes"]
    assert card["architecture"]["name"] == info["name"] and "cnn" in info["name"]
    assert card["architecture"]["params"] == info["params"]
    assert card["architecture"]["params"]["filters"] == 16
    assert card["architecture"]["n_parameters"] == info["n_parameters"]
    assert card["hyperparameters"]["epochs"] == 3 and card["hyperparameters"]["seed"] == 1
    assert card["embeddings"]["dim"] == 16 and card["embeddings"]["source"] is None
    assert card["metrics"]["test"]["accuracy"] == metrics["test"]["accuracy"]
    assert card["metrics"]["test"]["per_class"] == metrics["test"]["per_class"]
    assert card["data"]["dataset"] == "ag_news_sample"
    assert card["data"]["sizes"] == {k: metrics["data"][k] for k in ("train", "validation", "test")}
    assert card["vocabulary"]["size"] == info["vocab_size"]
    assert card["checksum"]["manifest_sha256"] == checksum
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert card["checksum"]["files"] == {k: v["sha256"] for k, v in manifest["files"].items()}


def test_card_offers_held_out_examples_and_the_units_of_each_method(client):
    from embedlab.data import load_dataset

    card = strict_json(client.get("/v1/models/ag"))
    examples = card["examples"]
    # the run kept one held-out text per class (examples.json, from its test split)
    assert examples["source"] == "the run's test split" and examples["note"] is None
    assert [e["label"] for e in examples["texts"]] == card["classes"]  # one per class
    test = load_dataset("ag_news_sample", "test")
    truth = dict(zip(test.texts, test.labels))
    assert all(truth[e["text"]] == e["label"] for e in examples["texts"])
    info = card["explanations"]
    assert set(info["units"]) == set(info["methods"]) - {"auto"}
    assert "logit" in info["units"]["ig"] and "logit" in info["units"]["occlusion"]


def test_a_run_trained_on_a_file_keeps_example_texts_for_the_page(tiny, tmp_path):
    """A data set embedlab does not ship: the examples come from the run's own held-out split."""
    import embedlab
    from embedlab.config import RunConfig

    src = tmp_path / "data.csv"
    src.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in zip(tiny.texts, tiny.labels)))
    run = tmp_path / "run"
    embedlab.train(RunConfig.from_dict({"data": {"path": str(src), "test_size": 0.25},
                                        "embeddings": {"dim": 8},
                                        "training": {"epochs": 1, "progress": False}}), run)
    kept = json.loads((run / "examples.json").read_text())
    assert kept["split"] == "test" and len(kept["texts"]) == 4
    with TestClient(create_app({"mine": run}, warm_up=False)) as c:
        card = strict_json(c.get("/v1/models/mine"))
    assert card["examples"]["texts"] == kept["texts"]
    assert {e["label"] for e in kept["texts"]} == set(tiny.labels)
    assert all(e["text"] in tiny.texts for e in kept["texts"])
    # a file the manifest does not list is not read, nor one reached through a link
    from embedlab.serve.models import examples, model_card

    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["files"]["examples.json"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    from embedlab.inference.predictor import Predictor

    loaded = Predictor.load(run, verify=False)
    assert examples(loaded, run)["texts"] == []
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"test": {"accuracy": 0.99}}))
    (run / "metrics.json").unlink()
    (run / "metrics.json").symlink_to(outside)
    with pytest.raises(ArtifactError, match="symbolic link"):
        model_card("mine", loaded, run)


def test_card_of_a_run_without_metrics_and_with_nan_is_valid_json(run_dir, tmp_path):
    # a run saved from Python has no metrics.json; a metrics file holding NaN must not leak NaN
    bare = tmp_path / "bare"
    embedlab.load(run_dir).save(bare)
    odd = tmp_path / "odd"
    shutil.copytree(run_dir, odd)
    metrics = json.loads((odd / "metrics.json").read_text())
    metrics["test"]["accuracy"] = float("nan")
    (odd / "metrics.json").write_text(json.dumps(metrics))
    write_manifest(odd)
    with TestClient(create_app([str(bare), str(odd)], warm_up=False)) as c:
        card = strict_json(c.get("/v1/models/bare"))
        assert card["metrics"] == {} and "no metrics.json" in card["data"]["notes"][-1]
        assert strict_json(c.get("/v1/models/odd"))["metrics"]["test"]["accuracy"] is None
        assert strict_json(c.get("/v1/models"))["models"][1]["test_accuracy"] is None


# ----- prediction ------------------------------------------------------------------------------
def test_predict_one_and_a_batch_as_the_python_api(client, run_dir):
    pred = embedlab.load(run_dir)
    texts = ["Stocks fall as oil prices climb to a record high",
             "The striker scored twice as the home team won the cup final",
             "New chip makes laptops faster"]
    expected = pred.predict(texts)
    one = client.post(PREDICT, json={"texts": texts[:1]}).json()
    assert one["model"] == "ag" and len(one["predictions"]) == 1
    batch = strict_json(client.post(PREDICT, json={"texts": texts, "top_k": 2}))["predictions"]
    assert batch[0] == {**one["predictions"][0], "top_k": one["predictions"][0]["top_k"][:2]}
    for got, exp in zip(batch, expected):
        assert got["label"] == exp.label and got["status"] == "ok"
        assert got["known_words"] == exp.known_words > 0
        assert math.isclose(got["probability"], exp.probabilities[exp.label], rel_tol=1e-6)
        assert [c["label"] for c in got["top_k"]] == list(exp.probabilities)[:2]
    assert len(one["predictions"][0]["top_k"]) == 3            # the default top_k


def test_top_k_is_capped_at_the_number_of_classes(client):
    p = client.post(PREDICT, json={"texts": ["oil prices"], "top_k": 1000}).json()["predictions"][0]
    assert len(p["top_k"]) == 4
    assert math.isclose(sum(c["probability"] for c in p["top_k"]), 1.0, abs_tol=1e-5)
    probs = [c["probability"] for c in p["top_k"]]
    assert probs == sorted(probs, reverse=True)


def test_text_without_known_words_is_predicted_and_flagged(client):
    p = client.post(PREDICT, json={"texts": ["qwxzv blorptang"]}).json()["predictions"][0]
    assert p["status"] == "no_known_words" and p["known_words"] == 0 and p["label"]


def test_empty_text_is_a_422_naming_its_index(client):
    r = client.post(PREDICT, json={"texts": ["oil prices", "   ", "fine", ""]})
    assert r.status_code == 422
    body = r.json()
    assert "texts 1, 3" in body["detail"] and "empty" in body["detail"]
    assert [e["loc"] for e in body["errors"]] == [["body", "texts", 1], ["body", "texts", 3]]


def test_a_running_prediction_does_not_block_the_event_loop(run_dir):
    app = create_app({"ag": run_dir}, warm_up=False)
    predictor = app.state.models["ag"].predictor
    entered, release = threading.Event(), threading.Event()
    real = predictor.predict

    def held(texts, *args, **kwargs):      # a prediction that holds its thread until released
        entered.set()
        release.wait(30)
        return real(texts, *args, **kwargs)

    predictor.predict = held
    results = {}
    safety = threading.Timer(10, release.set)  # a blocked loop would answer only after this
    with TestClient(app) as c:
        worker = threading.Thread(target=lambda: results.update(
            predict=c.post(PREDICT, json={"texts": ["oil prices"]})))
        worker.start()
        assert entered.wait(20)
        safety.start()
        # answered while the prediction still holds its thread: the loop is free
        assert c.get("/healthz").status_code == 200 and not release.is_set()
        assert c.get("/v1/models").status_code == 200 and not release.is_set()
        release.set()
        safety.cancel()
        worker.join(20)
    assert results["predict"].status_code == 200


# ----- explanations ----------------------------------------------------------------------------
EXPLAIN = "/v1/models/ag/explain"


def test_explain_returns_the_explanation_json(client, run_dir):
    from embedlab.explain import Explanation, explain

    card = client.get("/v1/models/ag").json()["explanations"]
    assert card["auto"] == "ig" and {"auto", "ig", "ngrams", "occlusion"} <= set(card["methods"])
    assert "exact" not in card["methods"]          # not a linear model
    text = "Wall Street stocks slide as oil prices climb"
    r = client.post(EXPLAIN, json={"text": text})
    assert r.status_code == 200
    got = Explanation.from_dict(strict_json(r))      # the explanation module's own JSON format
    [expected] = explain(embedlab.load(run_dir), [text], method="ig")
    assert got.method == "ig" and got.predicted == expected.predicted == got.explained
    assert [t.token for t in got.tokens] == text.lower().split()
    assert all(text[t.start:t.end].lower() == t.token for t in got.tokens)
    for a, b in zip(got.tokens, expected.tokens):
        assert math.isclose(a.score, b.score, rel_tol=1e-4, abs_tol=1e-6)
    other = next(c for c in got.probabilities if c != got.predicted)
    r = client.post(EXPLAIN, json={"text": text, "method": "occlusion", "target": other}).json()
    assert r["method"] == "occlusion" and r["explained"] == other and r["predicted"] == got.predicted
    grams = client.post(EXPLAIN, json={"text": text, "method": "ngrams"}).json()
    assert grams["ngrams"] and all(g["first"] <= g["last"] for g in grams["ngrams"])


@pytest.mark.parametrize(("body", "message"), [
    ({"text": "   "}, "cannot explain an empty text"),
    ({"text": "oil", "method": "exact"}, "method 'exact' is not available for this cnn model; it can do: ig"),
    ({"text": "oil", "method": "shap"}, "method: Input should be 'auto', 'ig'"),
    ({"text": "oil", "target": "Weather"}, "unknown target class 'Weather'; the model's classes are: World"),
    ({"texts": ["oil"]}, "text: Field required"),
    ({"text": ["oil"]}, "text: Input should be a valid string"),
])
def test_explain_bad_input_is_422(client, body, message):
    r = client.post(EXPLAIN, json=body)
    assert r.status_code == 422 and r.json()["detail"].startswith(message), r.json()


def test_explain_method_whose_package_the_server_lacks_is_501(client, monkeypatch):
    import embedlab.explain.lime as lime_method
    from embedlab.explain.extras import require

    monkeypatch.setattr(lime_method, "require", lambda module, method: require("no_such_pkg_x", method))
    r = client.post(EXPLAIN, json={"text": "oil prices", "method": "lime"})
    assert r.status_code == 501
    assert r.json()["detail"].startswith("not available on this server: method 'lime' needs")


def test_explain_text_length_limit_and_unknown_model(small, client):
    r = small.post(EXPLAIN, json={"text": "x" * 41})
    assert r.status_code == 422 and r.json()["detail"].startswith("text: String should have at most 40")
    assert client.post("/v1/models/nope/explain", json={"text": "oil"}).status_code == 404


# ----- bad input: clear JSON errors, never a 500 -----------------------------------------------
BAD_BODIES = {
    "no texts": ({"top_k": 2}, "texts: Field required"),
    "texts not a list": ({"texts": "one text"}, "texts: Input should be a valid list"),
    "a number as text": ({"texts": ["ok", 3]}, "texts.1: Input should be a valid string"),
    "null text": ({"texts": [None]}, "texts.0: Input should be a valid string"),
    "empty list": ({"texts": []}, "texts: List should have at least 1 item"),
    "top_k zero": ({"texts": ["a"], "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
    "top_k a string": ({"texts": ["a"], "top_k": "3"}, "top_k: Input should be a valid integer"),
    "top_k a float": ({"texts": ["a"], "top_k": 2.5}, "top_k: Input should be a valid integer"),
    "misspelt field": ({"text": ["a"]}, "texts: Field required (and 1 more problem)"),
    "not an object": (["a", "b"], "body: Input should be a valid dictionary"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_wrong_types_are_422_with_one_line(client, case):
    body, message = BAD_BODIES[case]
    r = client.post(PREDICT, json=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(message), r.json()
    assert "\n" not in r.json()["detail"]


@pytest.mark.parametrize("raw", [b"{not json", b'{"texts": ["a"], "top_k": NaN}', b"", b'{"texts": ["a"]',
                                 b'{"texts": ["caf\xe9"]}'])
def test_broken_json_is_422_and_the_answer_is_valid_json(client, raw):
    r = client.post(PREDICT, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert strict_json(r)["detail"]


def test_non_json_content_type_is_422(client):
    r = client.post(PREDICT, content=b'{"texts": ["a"]}', headers={"content-type": "text/plain"})
    assert r.status_code == 422 and "application/json" in r.json()["detail"]


def test_limits_on_texts_characters_and_body(small):
    r = small.post(PREDICT, json={"texts": ["a", "b", "c", "d"]})
    assert r.status_code == 422 and r.json()["detail"].startswith("texts: List should have at most 3 items")
    r = small.post(PREDICT, json={"texts": ["ok", "x" * 41]})
    assert r.status_code == 422 and r.json()["detail"].startswith("texts.1: String should have at most 40 characters")
    r = small.post(PREDICT, json={"texts": ["x" * 40] * 3})
    assert r.status_code == 200
    r = small.post(PREDICT, content=b'{"texts": ["' + b"x" * 700 + b'"]}',
                   headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"] == "request body is larger than the limit of 600 bytes"

    def chunks():               # no Content-Length: counted as it streams in
        yield b'{"texts": ["'
        for _ in range(10):
            yield b"y" * 100
        yield b'"]}'
    r = small.post(PREDICT, content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    schema = small.get("/openapi.json").json()["components"]["schemas"]["PredictRequest"]
    assert schema["properties"]["texts"]["maxItems"] == 3
    assert schema["properties"]["texts"]["items"]["maxLength"] == 40


def test_unknown_model_and_path_are_404_json(client):
    r = client.post("/v1/models/agg/predict", json={"texts": ["a"]})
    assert r.status_code == 404 and r.json()["detail"] == "unknown model 'agg' (did you mean 'ag'?); known: ag"
    assert client.get("/v1/models/nope").status_code == 404
    assert client.get("/v2/whatever").json() == {"detail": "Not Found"}
    assert client.get(PREDICT).status_code == 405


# ----- metrics, docs, page ---------------------------------------------------------------------
def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus text exposition (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


def test_metrics_count_requests_texts_errors_and_latency(run_dir):
    with TestClient(create_app({"m": run_dir}, warm_up=False)) as c:
        c.post("/v1/models/m/predict", json={"texts": ["oil", "cup final", "chips"]})
        c.post("/v1/models/m/predict", json={"texts": ["markets"]})
        c.post("/v1/models/m/predict", json={"texts": 5})
        c.post("/v1/models/zz/predict", json={"texts": ["a"]})
        c.post("/v1/models/m/explain", json={"text": "oil prices", "method": "occlusion"})
        r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    route = "/v1/models/{name}/predict"
    t = r.text
    assert _sample(t, "embedlab_texts_predicted_total", model="m") == 4
    assert _sample(t, "embedlab_http_requests_total", method="POST", route=route, status="200") == 2
    assert _sample(t, "embedlab_http_errors_total", route=route, status="422") == 1
    assert _sample(t, "embedlab_http_errors_total", route=route, status="404") == 1
    assert _sample(t, "embedlab_http_request_duration_seconds_count", method="POST", route=route) == 4
    assert _sample(t, "embedlab_http_request_duration_seconds_bucket", method="POST", route=route, le="+Inf") == 4
    assert _sample(t, "embedlab_texts_explained_total", model="m", method="occlusion") == 1


def test_docs_openapi_and_page(client):
    assert client.get("/docs").status_code == 200
    # Swagger UI and ReDoc load their assets from this server, never from a CDN
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "http://" not in html and "https://" not in html and "fonts.googleapis" not in html
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert len(urls) >= 2 and all(u.startswith("/docs-assets/") for u in urls), urls
        for u in urls:
            r = client.get(u)
            assert r.status_code == 200 and len(r.content) > 1000, u
    assert client.get("/docs-assets/swagger-ui-bundle.js").headers["content-type"].startswith(
        "text/javascript")
    assert client.get("/docs-assets/core.py").status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/v1/models", "/v1/models/{name}", "/v1/models/{name}/predict",
            "/v1/models/{name}/explain", "/metrics"} <= set(paths)
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" in page.text and "http://" not in page.text and "https://" not in page.text


# ----- start-up: names, broken runs -------------------------------------------------------------
def test_model_names_from_directories_or_given(tmp_path):
    assert parse_model_spec("runs/ag-cnn") == ("ag-cnn", Path("runs/ag-cnn"))
    assert parse_model_spec("ag=runs/x") == ("ag", Path("runs/x"))
    with pytest.raises(ConfigError, match="two runs are named 'x'"):
        create_app(["a/x", "b/x"])
    with pytest.raises(ConfigError, match="model name 'bad name'"):
        create_app({"bad name": tmp_path})


def _broken_runs(run_dir: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    tampered = tmp_path / "tampered"
    shutil.copytree(run_dir, tampered)
    data = bytearray((tampered / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tampered / "model.safetensors").write_bytes(bytes(data))
    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial)
    (partial / "manifest.json").unlink()
    mismatched = tmp_path / "mismatched"       # checksums re-written, but the files do not fit
    shutil.copytree(run_dir, mismatched)
    info = json.loads((mismatched / "model.json").read_text())
    info["params"]["filters"] = 7
    (mismatched / "model.json").write_text(json.dumps(info))
    write_manifest(mismatched)
    return {"tampered": (tampered, "checksum mismatch"), "partial": (partial, "manifest.json is missing"),
            "mismatched": (mismatched, "mismatched: "), "missing": (tmp_path / "nowhere", "not found")}


def test_broken_runs_are_refused_at_start_up(run_dir, tmp_path):
    for name, (path, reason) in _broken_runs(run_dir, tmp_path).items():
        with pytest.raises(ArtifactError, match=reason) as info:
            create_app([run_dir, path])
        assert "\n" not in str(info.value), name


def test_cli_refuses_a_tampered_run_in_one_line(run_dir, tmp_path, free_port):
    path, reason = _broken_runs(run_dir, tmp_path)["tampered"]
    p = subprocess.run([sys.executable, "-m", "embedlab", "serve", str(run_dir), str(path),
                        "--port", str(free_port)],
                       capture_output=True, text=True, timeout=120, check=False,
                       env={**os.environ, "COLUMNS": "300"})
    assert p.returncode == 1
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and reason in lines[0] and "tampered" in lines[0], p.stderr


# ----- a real server ---------------------------------------------------------------------------
def test_real_uvicorn_with_two_workers(run_dir, embedlab_server):
    with embedlab_server(f"ag={run_dir}", "--workers", "2") as base, \
            httpx.Client(base_url=base, timeout=10) as c:
        texts = ["Stocks fall as oil prices climb", "The home team won the cup final"]
        expected = [p.label for p in embedlab.load(run_dir).predict(texts)]
        for _ in range(6):      # spread over both workers
            r = c.post("/v1/models/ag/predict", json={"texts": texts})
            assert r.status_code == 200
            assert [p["label"] for p in r.json()["predictions"]] == expected
        assert c.post("/v1/models/ag/predict", json={"texts": [""]}).status_code == 422
        metrics = c.get("/metrics").text      # summed over both workers
        assert _sample(metrics, "embedlab_texts_predicted_total", model="ag") == 12
