"""The inference layer: standalone import, one batching step, empty-text semantics, damaged runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import embedlab
from embedlab.artifacts import sha256_file
from embedlab.errors import ArtifactError, DataError
from embedlab.inference.forward import EncodedTexts, predict_logits
from embedlab.inference.predictor import Predictor
from embedlab.models import EmbeddingSpec, build_model
from embedlab.text import Preprocessor

FAMILIES = {
    "cnn": {}, "bag": {"pooling": "max"}, "rnn": {"bidirectional": True},
    "fasttext": {"ngrams": 2, "buckets": 50},
}


@pytest.fixture(scope="module")
def run_dir(trained_run) -> Path:
    return trained_run("cnn")


@pytest.mark.slow
def test_load_and_predict_import_nothing_from_training(run_dir):
    code = (
        "import sys, embedlab\n"
        f"p = embedlab.load({str(run_dir)!r})\n"
        "print(p.predict(['Stocks fall as oil prices climb'])[0].label)\n"
        "bad = sorted(m for m in sys.modules if m.startswith('embedlab.training')"
        " or m.split('.')[0] in ('sklearn', 'pandas', 'matplotlib', 'gensim'))\n"
        "print('LOADED', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    assert out.splitlines()[0] in embedlab.load(run_dir).classes
    assert "LOADED []" in out, out


@pytest.mark.parametrize("name", list(FAMILIES))
def test_batched_forward_equals_one_padded_batch(name):
    """Length-sorted, trimmed batches of any size give the logits of one big padded batch."""
    torch.manual_seed(0)
    model = build_model(name, vocab_size=40, num_classes=3, embedding=EmbeddingSpec(dim=8),
                        params=FAMILIES[name]).eval()
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 12, 50)
    lengths[:3] = [0, 1, 11]
    ids = np.zeros((50, 16), dtype=np.int32)  # 5 columns of extra padding beyond the longest
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, 40, n)
    data = EncodedTexts.from_padded(ids, lengths.astype(np.int64))
    with torch.no_grad():
        whole = model(torch.from_numpy(ids).long())
    for batch_size in (1, 7, 256):
        assert torch.allclose(predict_logits(model, data, batch_size), whole, atol=1e-5)
    assert model.training is False


def test_empty_and_unknown_texts(run_dir):
    p = embedlab.load(run_dir)
    texts = ["Stocks fall as oil prices climb", "", "   ", "qwxzzy blorfty", "oil"]
    preds = p.predict(texts)
    # the one-word "oil" is predicted; the run's OOD detector may flag it (unlike a news text)
    assert [x.status for x in preds][:4] == ["ok", "empty", "empty", "no_known_words"]
    assert preds[4].label in p.classes and preds[4].status in ("ok", "out_of_distribution")
    assert preds[1].label is None and preds[1].probabilities == {} and preds[1].known_words == 0
    assert preds[3].label in p.classes and preds[3].known_words == 0
    in_vocab = sum(t in p.vocab for t in p.preprocessor.tokenize(texts[0]))
    assert 0 < in_vocab == preds[0].known_words and preds[4].known_words == 1
    assert abs(sum(preds[3].probabilities.values()) - 1) < 1e-5
    assert preds[0].to_dict()["status"] == "ok"
    with pytest.raises(DataError, match=r"texts 1, 2 \(0-based\) are empty after preprocessing"):
        p.predict_proba(texts)
    with pytest.raises(DataError, match=r"text 0 \(0-based\) is empty"):
        p.predict_labels([""])
    assert p.predict_proba(["oil", "qwxzzy"]).shape == (2, len(p.classes))
    # punctuation that preprocessing removes leaves nothing: empty too
    strict = Predictor(p.config, Preprocessor(punctuation="remove"), p.vocab, p.labels, p.model)
    assert strict.predict(["?!...", "oil!"])[0].status == "empty"
    assert strict.predict(["?!...", "oil!"])[1].status == "ok"


def test_cli_empty_text_is_one_line_error_and_unknown_words_warn(run_dir):
    from embedlab.cli import app

    runner = CliRunner()
    for empty in ("", "   "):
        r = runner.invoke(app, ["predict", str(run_dir), "oil prices", empty])
        assert r.exit_code == 1
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and "text 1 (0-based) is empty after preprocessing" in lines[0]
    r = runner.invoke(app, ["predict", str(run_dir), "qwxzzy blorfty"])
    assert r.exit_code == 0
    assert "text 0: no word is in the model's vocabulary" in r.output
    r = runner.invoke(app, ["predict", str(run_dir), "oil prices", "qwxzzy", "--json", "--top-k", "2"])
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["text"], x["status"], len(x["probabilities"])) for x in records] == [
        ("oil prices", "ok", 2), ("qwxzzy", "no_known_words", 2)]
    assert records[0]["label"] == embedlab.load(run_dir).predict(["oil prices"])[0].label


def _rewrite_manifest(d: Path) -> None:
    """Recompute the checksums, as someone hiding a damaging edit would."""
    manifest = json.loads((d / "manifest.json").read_text())
    for name, meta in manifest["files"].items():
        meta["sha256"] = sha256_file(d / name)
        meta["bytes"] = (d / name).stat().st_size
    (d / "manifest.json").write_text(json.dumps(manifest))


def _damage(d: Path, how: str) -> None:
    weights = d / "model.safetensors"
    data = weights.read_bytes()
    if how == "truncated":
        weights.write_bytes(data[: len(data) // 2])
    elif how == "header":
        weights.write_bytes(data[:8] + b"{not json" + data[17:])
    elif how == "header-size":
        weights.write_bytes((10**12).to_bytes(8, "little") + data[8:])
    elif how == "model-json":
        (d / "model.json").write_text("{\"name\": \"cnn\"")
    elif how == "vocab":
        (d / "vocab.json").write_text("[1, 2")
    elif how == "shapes":
        info = json.loads((d / "model.json").read_text())
        info["embedding_dim"] = 17
        (d / "model.json").write_text(json.dumps(info))
    _rewrite_manifest(d)


@pytest.mark.parametrize("how", ["truncated", "header", "header-size", "model-json", "vocab",
                                 "shapes"])
def test_damaged_run_directory_is_one_clear_error(run_dir, tmp_path, how):
    import shutil

    from embedlab.cli import app

    copy = tmp_path / "damaged"
    shutil.copytree(run_dir, copy)
    _damage(copy, how)
    with pytest.raises(ArtifactError, match="this run directory is damaged: ") as err:
        embedlab.load(copy)
    assert "\n" not in str(err.value)
    r = CliRunner().invoke(app, ["predict", str(copy), "oil prices"])
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 1 and len(lines) == 1 and "this run directory is damaged" in lines[0]


def test_a_missing_field_is_named_in_the_damaged_run_error(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "damaged"
    shutil.copytree(run_dir, copy)
    info = json.loads((copy / "model.json").read_text())
    del info["name"]
    (copy / "model.json").write_text(json.dumps(info))
    _rewrite_manifest(copy)
    with pytest.raises(ArtifactError, match=r"damaged: a required field is missing \('name'\)"):
        embedlab.load(copy)


def test_a_run_with_nan_weights_is_refused_by_load_and_predict(run_dir, tmp_path):
    """Weights holding nan (a model saved before training refused a non-finite loss, or edited
    and its manifest recomputed) could only predict nan: load and `embedlab predict` refuse
    them in one line, as `embedlab serve` does."""
    import shutil

    from safetensors.torch import load_file, save_file

    from embedlab.cli import app

    copy = tmp_path / "nan-run"
    shutil.copytree(run_dir, copy)
    weights = load_file(str(copy / "model.safetensors"))
    key = sorted(k for k, v in weights.items() if v.is_floating_point())[-1]
    weights[key].view(-1)[0] = float("nan")
    save_file(weights, str(copy / "model.safetensors"))
    _rewrite_manifest(copy)
    expected = rf"this run directory is damaged: the model's weights are not finite \(nan or inf in '{key}'\)"
    with pytest.raises(ArtifactError, match=expected):
        embedlab.load(copy)
    r = CliRunner().invoke(app, ["predict", str(copy), "oil prices"])
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 1 and len(lines) == 1, r.output
    assert "weights are not finite" in lines[0] and "Traceback" not in r.output


@pytest.mark.parametrize("bad, match", [
    (None, "found None"),
    ("one text", "single str"),
    (np.array([["a"], ["b"]]), "must be 1-D"),
    (["fine", 3], r"non-strings at index 1 \(int\)"),
])
def test_a_predictor_checks_its_input_as_the_estimator_does(run_dir, bad, match):
    # one check_texts for every entry point: None used to raise TypeError from list(None)
    p = embedlab.load(run_dir)
    for call in (p.predict, p.predict_proba, p.predict_labels):
        with pytest.raises(DataError, match=match) as err:
            call(bad)
        assert "\n" not in str(err.value)
    assert p.predict([]) == []


def test_predict_proba_scores_many_texts_chunk_by_chunk_with_the_same_numbers(trained_run):
    """More texts than CHUNK_ROWS: the same probabilities as text by text, and an empty text in
    a later chunk is named by its index in the whole input."""
    from embedlab.data.tables import CHUNK_ROWS

    predictor = embedlab.load(trained_run("fasttext"))
    texts = [f"stocks fell {i % 97} points as oil rose" for i in range(CHUNK_ROWS + 300)]
    probs = predictor.predict_proba(texts)
    assert probs.shape == (len(texts), len(predictor.classes))
    np.testing.assert_allclose(probs[[5, CHUNK_ROWS + 7]],
                               predictor.predict_proba([texts[5], texts[CHUNK_ROWS + 7]]),
                               rtol=1e-5, atol=1e-6)
    texts[CHUNK_ROWS + 10] = "   "
    with pytest.raises(DataError, match=f"{CHUNK_ROWS + 10}"):
        predictor.predict_proba(texts)


# ----- encoded rows stored end to end, padded a batch at a time --------------------------------
def test_encoded_rows_pad_a_batch_as_the_padded_encoding_does(ag_sample):
    """Rows stored end to end give, for any rows in any order (repeats, empty texts), the
    same padded batch as encoding those texts padded; ``fixed_length`` pads and cuts to it;
    ``known`` counts the in-vocabulary tokens; a subset shares the ids instead of copying."""
    from embedlab.inference.encoding import EncodedArrays, encode_texts
    from embedlab.text import VocabConfig, Vocabulary

    pre = Preprocessor()
    texts = pre.batch(ag_sample.texts[:60]) + ["", "zzqx unheardof"]
    vocab = Vocabulary.fit(texts[:30], VocabConfig(min_freq=1))
    rng = np.random.default_rng(0)
    for fixed in (None, 7):
        enc = encode_texts(pre, vocab, texts, fixed)
        assert enc.flat.size == int(enc.lengths.sum())  # no padding is stored
        for rows in (np.arange(len(texts)), rng.integers(0, len(texts), 25), np.array([60, 61])):
            ids, lengths = vocab.encode_padded([texts[i] for i in rows], fixed)
            got = enc.batch(rows, fixed)
            assert np.array_equal(got, ids[:, :got.shape[1]]) and not ids[:, got.shape[1]:].any()
            assert np.array_equal(enc.lengths[rows], lengths)
            assert np.array_equal(enc.known[rows], (ids > 1).sum(1))
        part = enc.subset(np.array([5, 2]))
        assert part.flat is enc.flat
        assert np.array_equal(part.batch(np.arange(2), fixed), enc.batch(np.array([5, 2]), fixed))
    again = EncodedArrays.from_padded(*vocab.encode_padded(texts))
    assert np.array_equal(again.flat, encode_texts(pre, vocab, texts, dtype=np.int64).flat)


def test_a_batch_of_long_rows_has_fewer_of_them():
    """Batches are cut so that no batch padded to its longest row holds more than batch size ×
    BATCH_TOKENS ids, unless it is one row alone; every row comes once, in the given order."""
    from embedlab.inference.encoding import BATCH_TOKENS, cut_batches, length_sorted_batches

    rng = np.random.default_rng(1)
    lengths = rng.integers(0, 40, 500)
    lengths[[3, 250, 499]] = [5_000, 60_000, 900]
    for batches in (list(cut_batches(np.arange(500), lengths, 64)),
                    list(length_sorted_batches(lengths, 64))):
        assert sorted(np.concatenate(batches).tolist()) == list(range(500))
        for b in batches:
            assert len(b) <= 64
            assert len(b) == 1 or len(b) * lengths[b].max() <= 64 * BATCH_TOKENS
    in_order = list(cut_batches(np.arange(500), lengths, 64))
    assert np.array_equal(np.concatenate(in_order), np.arange(500))
    assert [b.tolist() for b in in_order if 250 in b] == [[250]]
    short = rng.integers(0, BATCH_TOKENS + 1, 300)  # rows no longer than BATCH_TOKENS: full batches
    assert [len(b) for b in length_sorted_batches(short, 64)] == [64] * 4 + [44]


def test_one_long_text_costs_its_own_tokens_not_every_row_padded_to_it(ag_sample, monkeypatch):
    """vocab.max_length null: a 30,000-word text among 200 short ones is stored as its own
    tokens, and no batch (the fit's packing, validation, predict_proba) is padded to it except
    with few rows; the short texts' probabilities do not depend on it being there."""
    from embedlab import TextClassifier
    from embedlab.inference.encoding import BATCH_TOKENS, EncodedArrays

    texts, labels = list(ag_sample.texts[:200]), list(ag_sample.labels[:200])
    long_text = " ".join((" ".join(texts[:100]).split() * 20)[:30_000])
    shapes: list[tuple[int, int]] = []
    padded = EncodedArrays.padded

    def spy(self, rows, width):
        out = padded(self, rows, width)
        shapes.append(out.shape)
        return out

    monkeypatch.setattr(EncodedArrays, "padded", spy)
    clf = TextClassifier(max_length=None, epochs=2, embeddings=None, embedding_dim=16, seed=0)
    clf.fit(texts + [long_text], labels + [labels[0]])
    together = clf.predict_proba(texts[:50] + [long_text])
    alone = clf.predict_proba(texts[:50])
    assert np.allclose(together[:50], alone, atol=1e-6)
    widest = max(shapes, key=lambda s: s[1])
    assert widest[1] >= 30_000 and widest[0] <= 1024 * BATCH_TOKENS // 30_000
    assert max(rows * width for rows, width in shapes if width < 30_000) <= 1024 * BATCH_TOKENS


def test_a_padded_model_warns_when_a_training_text_makes_its_batches_wide(ag_sample, caplog):
    """With vocab.max_length null, a cnn (which trains on padded batches) says that the batch
    holding a 6,000-word text is padded to it, with the text's length in tokens; the default
    fasttext model (packed steps, no padding) says nothing."""
    import logging

    from embedlab import TextClassifier

    texts, labels = list(ag_sample.texts[:120]), list(ag_sample.labels[:120])
    texts[0] = " ".join((" ".join(texts[1:60]).split() * 10)[:6_000])
    for model, warned in (("cnn", True), ("fasttext", False)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="embedlab"):
            clf = TextClassifier(model=model, max_length=None, epochs=1, embeddings=None,
                                 embedding_dim=8, val_size=0, seed=0).fit(texts, labels)
        said = [r.getMessage() for r in caplog.records if "longest training text" in r.getMessage()]
        assert bool(said) == warned, (model, said)
        if warned:
            tokens = len(clf.predictor_.preprocessor(texts[0]).split())
            assert f"has {tokens} tokens: the cnn model pads" in said[0], said[0]
            assert f"64 x {tokens} ids" in said[0]
