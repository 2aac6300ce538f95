"""Behaviour of the classifiers in embedlab.models: shapes, padding, training, signals, registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from embedlab.errors import ConfigError, DataError
from embedlab.models import (
    EmbeddingSpec,
    build_model,
    model_names,
    model_param_schema,
    validate_model_params,
)
from embedlab.models.fasttext import hash_ngrams

VOCAB, CLASSES, DIM = 30, 3, 16

CONFIGS = {
    "cnn": ("cnn", {"filters": 8, "hidden": 16}),
    "cnn-valid": ("cnn", {"widths": [2, 4], "filters": 8, "padding": "valid", "hidden": 0}),
    "bag-mean": ("bag", {"hidden": [16]}),
    "bag-sum": ("bag", {"pooling": "sum", "hidden": [16]}),
    "bag-max": ("bag", {"pooling": "max", "hidden": [16, 8]}),
    "bag-flatten": ("bag", {"pooling": "flatten", "max_length": 12, "hidden": [16]}),
    "rnn": ("rnn", {"hidden_size": 16, "fc_hidden": 16}),
    "rnn-bilstm-last": (
        "rnn",
        {
            "cell": "lstm",
            "hidden_size": 12,
            "bidirectional": True,
            "num_layers": 2,
            "pooling": "last",
            "fc_hidden": 16,
        },
    ),
    "rnn-birnn-max": (
        "rnn",
        {"cell": "rnn", "hidden_size": 12, "bidirectional": True, "pooling": "max"},
    ),
    "fasttext": ("fasttext", {"ngrams": 3, "buckets": 500}),
    "fasttext-dense": ("fasttext", {"ngrams": 2, "buckets": 500, "sparse": False}),
}
PADDING_INVARIANT = [key for key in CONFIGS if key != "bag-flatten"]


def make(key: str, embedding: EmbeddingSpec | None = None, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    name, params = CONFIGS[key]
    return build_model(
        name,
        vocab_size=VOCAB,
        num_classes=CLASSES,
        embedding=embedding or EmbeddingSpec(dim=DIM),
        params=params,
    )


def pad_rows(rows: list[list[int]], width: int) -> torch.Tensor:
    out = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row[:width])
    return out


def toy_data(n: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Class c <=> the text contains one of the key tokens 2+3c .. 4+3c; fillers are 11..29."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        label = i % CLASSES
        row = list(rng.integers(11, VOCAB, rng.integers(2, 9)))
        row.insert(int(rng.integers(0, len(row) + 1)), 2 + 3 * label + int(rng.integers(0, 3)))
        rows.append(row)
        labels.append(label)
    return pad_rows(rows, 10), torch.tensor(labels)


def optimizers(model: nn.Module, lr: float) -> list[torch.optim.Optimizer]:
    opts: list[torch.optim.Optimizer] = [torch.optim.Adam(model.dense_parameters(), lr=lr)]
    if model.sparse_parameters():
        opts.append(torch.optim.SparseAdam(model.sparse_parameters(), lr=lr))
    return opts


def train_steps(
    model: nn.Module, ids: torch.Tensor, y: torch.Tensor, steps: int, lr: float = 1e-2
) -> float:
    """Full-batch Adam steps; returns the train accuracy reached (stops early at 100%)."""
    opts = optimizers(model, lr)
    accuracy = 0.0
    for _ in range(steps):
        model.train()
        for opt in opts:
            opt.zero_grad()
        F.cross_entropy(model(ids), y).backward()
        for opt in opts:
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(ids).argmax(1) == y).float().mean().item()
        if accuracy == 1.0:
            break
    return accuracy


SAMPLE = [[5, 12, 7, 20, 3], [1, 9], [4, 4, 4, 14, 15, 16, 17, 18, 19], [25]]


@pytest.mark.parametrize("key", list(CONFIGS))
def test_shapes_and_signals(key: str) -> None:
    model = make(key).eval()
    ids = pad_rows(SAMPLE, 12)
    logits, signals = model.forward_with_signals(ids)
    assert logits.shape == (4, CLASSES)
    assert torch.allclose(model(ids), logits, atol=1e-5)  # plain forward = signals forward
    name = CONFIGS[key][0]
    if name == "cnn":
        for width in CONFIGS[key][1].get("widths", [1, 2, 3]):
            assert signals[f"conv_maps.{width}"].shape == (4, 8, 12)
            assert signals[f"pool_argmax.{width}"].shape == (4, 8)
    elif name == "bag":
        assert signals["token_vectors"].shape == (4, 12, DIM)
    elif name == "fasttext":
        assert signals["ngram_ids"].shape == (4, CONFIGS[key][1]["ngrams"] - 1, 12)
    assert signals["pooled"].shape[0] == 4
    assert model.fixed_length == (12 if key == "bag-flatten" else None)


@pytest.mark.parametrize("key", list(CONFIGS))
def test_all_padding_row_gives_finite_logits_and_gradients(key: str) -> None:
    model = make(key).train()
    ids = pad_rows([[5, 6, 7], [], [8]], 6)
    logits = model(ids)
    assert torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    for param in model.parameters():
        if param.grad is not None:
            grad = param.grad.coalesce().values() if param.grad.is_sparse else param.grad
            assert torch.isfinite(grad).all()
    model.eval()
    _, signals = model.forward_with_signals(pad_rows([[], []], 5))
    assert all(torch.isfinite(s.float()).all() for s in signals.values())


@pytest.mark.parametrize("key", PADDING_INVARIANT)
def test_padding_does_not_change_logits(key: str) -> None:
    model = make(key).eval()
    with torch.no_grad():
        short, long = model(pad_rows(SAMPLE, 10)), model(pad_rows(SAMPLE, 30))
        one_by_one = torch.cat([model(pad_rows([row], len(row))) for row in SAMPLE])
    assert torch.allclose(short, long, atol=1e-5)
    assert torch.allclose(short, one_by_one, atol=1e-5)


def test_flatten_bag_pads_and_truncates_to_max_length() -> None:
    model = make("bag-flatten").eval()
    rows = SAMPLE + [list(range(2, 25))]  # the last text is longer than max_length=12
    with torch.no_grad():
        reference = model(pad_rows(rows, 12))
        assert torch.allclose(
            model(pad_rows(rows, 9)[:, :9]), model(pad_rows([r[:9] for r in rows], 12)), atol=1e-6
        )
        assert torch.allclose(model(pad_rows(rows, 30)), reference, atol=1e-6)


@pytest.mark.parametrize("key", list(CONFIGS))
def test_overfits_a_tiny_data_set(key: str) -> None:
    ids, y = toy_data()
    model = make(key)
    assert train_steps(model, ids, y, steps=300) == 1.0


@pytest.mark.parametrize("key", list(CONFIGS))
def test_frozen_embedding_stays_fixed_and_trainable_one_moves(key: str) -> None:
    ids, y = toy_data(12)
    matrix = np.random.default_rng(1).normal(size=(VOCAB, DIM)).astype(np.float32)
    frozen = make(key, EmbeddingSpec(dim=DIM, matrix=matrix, freeze=True))
    tuned = make(key, EmbeddingSpec(dim=DIM, matrix=matrix, freeze=False))
    word_table = "words.weight" if CONFIGS[key][0] == "fasttext" else "embedding.weight"
    before = dict(frozen.named_parameters())[word_table].detach().clone()
    assert torch.equal(before[1:], torch.from_numpy(matrix)[1:])  # rows come from the matrix
    assert not before[0].any()  # <PAD> row is zero
    train_steps(frozen, ids, y, steps=5)
    train_steps(tuned, ids, y, steps=5)
    assert torch.equal(dict(frozen.named_parameters())[word_table], before)
    tuned_table = dict(tuned.named_parameters())[word_table]
    assert not torch.equal(tuned_table, before)
    assert not tuned_table[0].any()  # padding row never trained
    if key.startswith("fasttext"):  # n-gram rows train even when the words are frozen
        start = frozen.ngram_vectors.weight.detach().clone()
        train_steps(frozen, ids, y, steps=2)
        assert not torch.equal(frozen.ngram_vectors.weight, start)


def test_attention_is_a_distribution_over_real_tokens() -> None:
    model = make("rnn").eval()
    ids = pad_rows(SAMPLE + [[]], 11)
    _, signals = model.forward_with_signals(ids)
    weights = signals["attention"]
    assert weights.shape == ids.shape
    assert torch.all(weights[ids == 0] == 0)
    assert torch.all(weights[ids != 0] > 0)
    assert torch.allclose(weights[:4].sum(1), torch.ones(4))
    assert torch.all(weights[4] == 0)  # all-padding row: no attention at all


@pytest.mark.parametrize("key", ["cnn", "cnn-valid"])
def test_cnn_pool_argmax_points_at_windows_of_real_tokens(key: str) -> None:
    model = make(key).eval()
    ids = pad_rows(SAMPLE, 14)
    lengths = (ids != 0).sum(1)
    _, signals = model.forward_with_signals(ids)
    for width in model.widths:
        positions = signals[f"pool_argmax.{width}"]
        assert torch.all(positions < lengths.unsqueeze(1))
        for row, length in enumerate(lengths.tolist()):
            for position in positions[row].tolist():
                start, stop = model.window(width, position)
                assert start < length and stop > 0  # the window covers a real token
                if key == "cnn-valid" and length >= width:
                    assert start >= 0 and stop <= length


@pytest.mark.parametrize("key", ["cnn", "cnn-valid"])
def test_cnn_feature_maps_equal_plain_conv1d(key: str) -> None:
    """The unfolded-matmul convolution equals nn.Conv1d applied width by width."""
    model = make(key).eval()
    ids = pad_rows(SAMPLE, 9)
    _, signals = model.forward_with_signals(ids)
    x = model.embedding(ids).transpose(1, 2)
    for width, conv in zip(model.widths, model.convs):
        if model.padding == "same":
            expected = F.relu(conv(F.pad(x, ((width - 1) // 2, width // 2))))
        else:
            expected = F.relu(conv(F.pad(x, (0, width - 1))))
        got = signals[f"conv_maps.{width}"]
        real = got != 0
        assert torch.allclose(got[real], expected[real], atol=1e-5)
        first = expected[:, :, 0]  # every text has a window at position 0
        assert torch.allclose(got[:, :, 0], first, atol=1e-5)


def test_bidirectional_rnn_matches_packed_sequence_reference() -> None:
    model = make("rnn-birnn-max").eval()
    ids = pad_rows(SAMPLE, 10)
    lengths = (ids != 0).sum(1)
    reference = nn.RNN(DIM, 12, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, f"{name}_l0").copy_(getattr(model.forward_layers[0], f"{name}_l0"))
            getattr(reference, f"{name}_l0_reverse").copy_(
                getattr(model.backward_layers[0], f"{name}_l0")
            )
        packed = pack_padded_sequence(
            model.embedding(ids), lengths, batch_first=True, enforce_sorted=False
        )
        expected, _ = pad_packed_sequence(reference(packed)[0], batch_first=True, total_length=10)
        _, signals = model.forward_with_signals(ids)
    real = (ids != 0).unsqueeze(-1).expand_as(expected)
    assert torch.allclose(signals["states"][real], expected[real], atol=1e-5)


def test_fasttext_ngram_hashing_skips_padding() -> None:
    ids = pad_rows([[5, 6, 7], [8], []], 5)
    buckets = hash_ngrams(ids, 3, 1000)
    assert buckets.shape == (3, 2, 5)
    assert (buckets[0, 0] >= 0).tolist() == [True, True, False, False, False]  # 2 bigrams
    assert (buckets[0, 1] >= 0).tolist() == [True, False, False, False, False]  # 1 trigram
    assert buckets[0, 0, 0] == (5 * 1_000_003 + 6) % 1000
    assert torch.all(buckets[1:] == -1)
    model = make("fasttext")
    assert [p.shape[0] for p in model.sparse_parameters()] == [VOCAB, 501]
    assert make("fasttext-dense").sparse_parameters() == []
    frozen_words = build_model(
        "fasttext",
        vocab_size=VOCAB,
        num_classes=CLASSES,
        params={"ngrams": 1},
        embedding=EmbeddingSpec(dim=DIM, matrix=np.ones((VOCAB, DIM), np.float32), freeze=True),
    )
    assert frozen_words.sparse_parameters() == []  # nothing sparse left to train
    assert [p.shape for p in frozen_words.dense_parameters()] == [(CLASSES, DIM), (CLASSES,)]


@pytest.mark.parametrize("key", list(CONFIGS))
def test_chunked_inference_matches_one_batch(key: str) -> None:
    """Big no-grad batches run in trimmed pieces; the logits must not change."""
    model = make(key).eval()
    ids = torch.cat([toy_data(40)[0], torch.zeros(40, 5, dtype=torch.long)], 1)
    with torch.no_grad():
        whole = model(ids)
        model.inference_chunk = 7
        assert torch.allclose(model(ids), whole, atol=1e-5)
        assert torch.allclose(model(ids[:7]), whole[:7], atol=1e-5)


def test_bad_input_ids_are_clear_errors() -> None:
    model = make("cnn")
    with pytest.raises(DataError, match=r"expected an integer tensor \[batch, time\]"):
        model(torch.zeros(3, 4))
    with pytest.raises(DataError, match="token ids must be in \\[0, 30\\); found ids from 0 to 30"):
        model(torch.tensor([[1, 30, 0]]))


def test_registry_names_aliases_and_schemas() -> None:
    assert model_names() == ["bag", "cnn", "fasttext", "rnn"]
    assert "embedlab.cnn.v1" in model_names(include_aliases=True)
    assert model_param_schema("embedlab.rnn.v1") is model_param_schema("rnn")
    defaults = validate_model_params("cnn", {})
    assert defaults["widths"] == [1, 2, 3] and defaults["filters"] == 50
    assert validate_model_params("fasttext", None)["sparse"] is None
    assert (
        build_model(
            "fasttext", vocab_size=VOCAB, num_classes=2, embedding=EmbeddingSpec(dim=4)
        ).sparse_parameters()
        == []
    )


def test_registry_round_trip_rebuilds_the_same_architecture() -> None:
    params = validate_model_params("embedlab.bag.v1", {"pooling": "sum", "hidden": [8]})
    model = build_model(
        "bag",
        vocab_size=VOCAB,
        num_classes=CLASSES,
        embedding=EmbeddingSpec(dim=DIM),
        params=params,
    )
    assert model.config == {"name": "bag", "params": params}
    again = build_model(
        model.config["name"],
        vocab_size=VOCAB,
        num_classes=CLASSES,
        embedding=EmbeddingSpec(dim=DIM),
        params=model.config["params"],
    )
    again.load_state_dict(model.state_dict())
    ids = pad_rows(SAMPLE, 8)
    assert torch.equal(again.eval()(ids), model.eval()(ids))


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("cnm", {}, "unknown model 'cnm' (did you mean 'cnn'?); known: bag, cnn, fasttext, rnn"),
        (
            "cnn",
            {"filter": 3},
            (
                "unknown parameter 'filter' for model 'cnn' (did you mean "
                "'filters'?); valid parameters: widths, filters, padding,"
            ),
        ),
        (
            "rnn",
            {"hidden_size": "big"},
            ("model 'rnn' parameter 'hidden_size': Input should be a valid integer"),
        ),
        (
            "rnn",
            {"cell": "gur"},
            ("model 'rnn' parameter 'cell': Input should be 'rnn', 'gru' or 'lstm'; found 'gur'"),
        ),
        (
            "bag",
            {"pooling": "flatten"},
            ("model 'bag' parameters: pooling 'flatten' needs max_length"),
        ),
        ("cnn", {"widths": [2, 2]}, "model 'cnn' parameter 'widths': widths must be distinct"),
        ("cnn", {"dropout": 1.5}, "model 'cnn' parameter 'dropout': Input should be less than 1"),
        ("fasttext", [1, 2], "model 'fasttext' parameters: expected a mapping"),
    ],
)
def test_bad_model_configs_give_one_line_errors(name: str, params: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_model_params(name, params)
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_build_checks_sizes() -> None:
    with pytest.raises(ConfigError, match="num_classes must be at least 2; found 1"):
        build_model("cnn", vocab_size=VOCAB, num_classes=1, embedding=EmbeddingSpec(dim=4))
