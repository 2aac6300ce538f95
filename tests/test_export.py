"""ONNX export: parity with PyTorch for every family, refusal when it does not match, tampered
exports refused, and an export that loads and predicts without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import embedlab
from embedlab.config import RunConfig
from embedlab.errors import ArtifactError
from embedlab.export import OnnxPredictor, export_onnx
from embedlab.inference.predictor import Predictor

FAMILIES = {
    "cnn": ("cnn", {}),
    "cnn-valid": ("cnn", {"padding": "valid", "widths": [2, 4]}),
    "bag-mean": ("bag", {}),
    "bag-max": ("bag", {"pooling": "max"}),
    "bag-sum": ("bag", {"pooling": "sum", "hidden": []}),
    "bag-flatten": ("bag", {"pooling": "flatten", "max_length": 12}),
    "rnn-gru-attention": ("rnn", {"hidden_size": 16}),
    "rnn-lstm-bi-last": ("rnn", {"cell": "lstm", "bidirectional": True, "pooling": "last",
                                 "hidden_size": 16}),
    "rnn-2layer-max": ("rnn", {"cell": "rnn", "num_layers": 2, "pooling": "max", "hidden_size": 16}),
    "fasttext": ("fasttext", {}),  # bigrams by default
    "fasttext-unigrams": ("fasttext", {"ngrams": 1}),
    "fasttext-ngrams": ("fasttext", {"ngrams": 3, "buckets": 997}),
}
#: learning rate per family: a few epochs on 300 texts must give decisive probabilities, so
#: that a 1e-4 parity check means something (fasttext averages many vectors: it needs more)
LR = {"cnn": 1e-2, "bag": 1e-2, "rnn": 1e-2, "fasttext": 2e-1}
REAL = ["Stocks fall as oil prices climb to a record high", "",
        "The striker scored twice as the home team won the cup final", "qwxzzy blorfty",
        "New chip makes laptops faster", "oil"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``trained(key)``: a run of ``FAMILIES[key]`` trained through ``embedlab.train`` on 300
    AG News texts (each trained once per module, on first use), loaded as a Predictor."""
    base = tmp_path_factory.mktemp("runs")
    done: dict[str, Predictor] = {}

    def get(key: str) -> Predictor:
        if key not in done:
            name, params = FAMILIES[key]
            cfg = RunConfig.from_dict({
                "data": {"dataset": "ag_news_sample", "limit": 300},
                "vocab": {"max_size": 1500, "max_length": 60},
                "model": {"name": name, "params": params},
                "training": {"epochs": 4, "lr": LR[name], "patience": 0, "progress": False,
                             "threads": 1},
                "embeddings": {"dim": 12}})
            embedlab.train(cfg, base / key)
            done[key] = embedlab.load(base / key)
        return done[key]

    return get


def onnx_ops(export_dir) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(export_dir / "model.onnx")).graph.node}


@pytest.mark.parametrize("key", list(FAMILIES))
def test_export_matches_pytorch(trained, ag_sample, tmp_path, key):
    name = FAMILIES[key][0]
    predictor = trained(key)
    assert predictor.model_info["name"].startswith(f"embedlab.{name}.v")  # what runs record
    report = export_onnx(predictor, tmp_path / "x")
    assert report.max_abs_diff <= 1e-4 and report.texts_checked > 200
    exported = embedlab.load(tmp_path / "x")
    assert isinstance(exported, OnnxPredictor)
    texts = ag_sample.texts[300:500] + REAL
    ours, theirs = exported.predict(texts), predictor.predict(texts)
    assert [p.status for p in ours] == [p.status for p in theirs]
    assert [p.known_words for p in ours] == [p.known_words for p in theirs]
    keep = [i for i, p in enumerate(theirs) if p.status != "empty"]
    reference = predictor.predict_proba([texts[i] for i in keep])
    assert np.abs(exported.predict_proba([texts[i] for i in keep]) - reference).max() <= 1e-4
    assert reference.max(1).mean() > 0.3  # decisive (uniform: 0.25): parity means something
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    assert manifest["kind"] == "embedlab-export"
    assert set(manifest["files"]) == {"model.onnx", "vocab.json", "labels.json",
                                      "preprocess.json", "export.json", "decisions.json"}
    info = json.loads((tmp_path / "x" / "export.json").read_text())
    assert info["family"] == name
    assert info["graph"] == ("conv1d" if name == "cnn" else "per-token")
    assert ("Conv" in onnx_ops(tmp_path / "x")) == (name == "cnn")
    hashing = info["ngram_hashing"]
    if key == "fasttext-ngrams":
        assert (hashing["ngrams"], hashing["buckets"]) == (3, 997)
    elif key == "fasttext":
        assert (hashing["ngrams"], hashing["buckets"]) == (2, 100_000)
    else:
        assert hashing is None


def test_a_trained_cnn_exports_the_conv1d_graph(trained, tmp_path):
    """Runs record versioned names (``embedlab.cnn.v2``): the export must still pick the cnn's
    own Conv1d graph, not the per-token one."""
    predictor = trained("cnn")
    export_onnx(predictor, tmp_path / "x")
    ops = onnx_ops(tmp_path / "x")
    assert "Conv" in ops and "Concat" in ops
    info = json.loads((tmp_path / "x" / "export.json").read_text())
    assert info["model"] == "embedlab.cnn.v2" and info["graph"] == "conv1d"


def test_a_trained_fasttext_export_records_its_ngram_hashing(trained, tmp_path):
    """The README promises fastText's n-gram hashing in export.json; the recorded settings
    reproduce the model's own buckets (what a reimplementation outside Python needs)."""
    from embedlab.models.fasttext import hash_ngrams

    predictor = trained("fasttext-ngrams")
    export_onnx(predictor, tmp_path / "x")
    info = json.loads((tmp_path / "x" / "export.json").read_text())
    assert info["model"].startswith("embedlab.fasttext.v")
    hashing = info["ngram_hashing"]
    assert hashing is not None and (hashing["ngrams"], hashing["buckets"]) == (3, 997)
    enc = predictor.encode_arrays(["oil prices climb to a record high"])
    ids = enc.batch(np.arange(1)).astype(np.int64)
    row = [int(i) for i in ids[0] if i]
    ours = []
    for n in range(2, hashing["ngrams"] + 1):
        for start in range(len(row) - n + 1):
            h = 0
            for token in row[start:start + n]:
                h = (h * hashing["multiplier"] + token) % hashing["buckets"]
            ours.append(h)
    theirs = hash_ngrams(torch.as_tensor(ids[:, :len(row)]), hashing["ngrams"],
                         hashing["buckets"], predictor.model.hash_multiplier)
    assert sorted(ours) == sorted(int(b) for b in theirs.flatten() if b >= 0)


def test_export_is_refused_when_onnx_and_pytorch_disagree(trained, tmp_path, monkeypatch):
    import embedlab.export.onnx as onnx_export

    predictor = trained("cnn")
    real_graph = onnx_export._graph

    class OffByALittle(torch.nn.Module):
        def __init__(self, graph):
            super().__init__()
            self.graph = graph

        def forward(self, ids):
            logits = self.graph(ids)
            return logits + torch.linspace(0, 3e-3, logits.size(1))

    monkeypatch.setattr(onnx_export, "_graph", lambda p: OffByALittle(real_graph(p)))
    with pytest.raises(ArtifactError, match=r"does not match PyTorch: largest probability "
                                            r"difference .* > 1e-04 .*nothing was written"):
        export_onnx(predictor, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def run_and_export(tmp_path_factory):
    from embedlab.cli import app

    base = tmp_path_factory.mktemp("export")
    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 400},
                               "model": {"name": "rnn", "params": {"hidden_size": 16}},
                               "training": {"epochs": 1}, "embeddings": {"dim": 16}})
    embedlab.train(cfg, base / "run")
    r = CliRunner().invoke(app, ["export", str(base / "run"), "--format", "onnx",
                                 "--out", str(base / "exported")])
    assert r.exit_code == 0, r.output
    assert "verified on" in r.output
    return base / "run", base / "exported"


def test_export_loads_and_predicts_without_torch(run_and_export):
    run, exported = run_and_export
    code = (
        "import sys, json, embedlab\n"
        f"p = embedlab.load({str(exported)!r})\n"
        "preds = p.predict(['Stocks fall as oil prices climb', '', 'qwxzzy'])\n"
        "print(json.dumps([x.to_dict() for x in preds]))\n"
        "print('TORCH', 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout.splitlines()
    assert out[-1] == "TORCH False"
    preds = json.loads(out[0])
    reference = embedlab.load(run).predict(['Stocks fall as oil prices climb', '', 'qwxzzy'])
    assert [p["status"] for p in preds] == [p.status for p in reference]
    assert [p["status"] for p in preds][1:] == ["empty", "no_known_words"]
    assert preds[0]["ood_score"] == pytest.approx(reference[0].ood_score)
    assert preds[0]["label"] == reference[0].label
    assert abs(preds[0]["probabilities"][reference[0].label] - reference[0].score) < 1e-4


def test_cli_predicts_with_an_export_and_refuses_tampered_or_foreign_dirs(run_and_export, tmp_path):
    import shutil

    from embedlab.cli import app

    run, exported = run_and_export
    runner = CliRunner()
    r = runner.invoke(app, ["predict", str(exported), "Stocks fall as oil prices climb"])
    assert r.exit_code == 0 and embedlab.load(run).predict(["Stocks fall as oil prices climb"])[0].label in r.output
    for name, edit in (("model.onnx", b"\x00"), ("labels.json", b" ")):
        copy = tmp_path / f"tampered-{name}"
        shutil.copytree(exported, copy)
        with open(copy / name, "ab") as f:
            f.write(edit)
        with pytest.raises(ArtifactError, match=f"{name}: checksum mismatch"):
            embedlab.load(copy)
        r = runner.invoke(app, ["predict", str(copy), "oil"])
        assert r.exit_code == 1 and "checksum mismatch" in r.output
    # an existing export is replaced only with --overwrite; a foreign directory never
    args = ["export", str(run), "--out", str(exported)]
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "--overwrite" in r.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    given = tmp_path / "check.txt"
    given.write_text("oil prices rise\n\nthe team wins the final\n")
    r = runner.invoke(app, [*args, "--overwrite", "--texts", str(given)])
    assert r.exit_code == 0 and "verified on 2 texts" in r.output
    given.write_text("\n  \n")
    r = runner.invoke(app, [*args, "--overwrite", "--texts", str(given)])
    assert r.exit_code == 1 and "no non-empty text to verify the export on" in r.output
    assert embedlab.load(exported).predict(["oil"])[0].label is not None  # the old export is intact
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    r = runner.invoke(app, ["export", str(run), "--out", str(foreign), "--overwrite"])
    assert r.exit_code == 1 and (foreign / "notes.txt").read_text() == "keep me"


def test_an_export_manifest_with_a_bad_file_list_is_one_line(run_and_export, tmp_path):
    import json
    import shutil

    _, exported = run_and_export
    for name, edit in (("no-entry", lambda files: files.pop("vocab.json")),
                       ("bad-entry", lambda files: files.update({"model.onnx": 5})),
                       ("missing", lambda files: files.update({"extra.bin": {"sha256": "0"}}))):
        copy = tmp_path / name
        shutil.copytree(exported, copy)
        manifest = json.loads((copy / "manifest.json").read_text())
        edit(manifest["files"])
        (copy / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ArtifactError, match=f"{copy}: (incomplete export|this export is damaged)"):
            embedlab.load(copy)


def test_evaluate_scores_an_export_as_its_run(run_and_export, tmp_path):
    """`embedlab evaluate EXPORT --dataset ...` works (an export has no training config: the
    data set must be named) and gives the run's metrics; without one it is a one-line error."""
    from embedlab.cli import app

    run, exported = run_and_export
    runner = CliRunner()
    got = {}
    for name, path in (("run", run), ("export", exported)):
        out = tmp_path / f"{name}.json"
        r = runner.invoke(app, ["evaluate", str(path), "--dataset", "ag_news_sample",
                                "--out", str(out)])
        assert r.exit_code == 0, r.output
        got[name] = json.loads(out.read_text())
    assert got["export"]["accuracy"] == pytest.approx(got["run"]["accuracy"])
    assert got["export"]["confusion_matrix"] == got["run"]["confusion_matrix"]
    r = runner.invoke(app, ["evaluate", str(exported)])
    assert r.exit_code == 1 and "give --dataset NAME or --data FILE" in r.output
