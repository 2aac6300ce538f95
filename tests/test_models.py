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
    OutputHead,
    architecture_name,
    build_model,
    load_model,
    model_class,
    model_names,
    model_param_schema,
    register_model,
    validate_model_params,
)
from embedlab.models.cnn import CNNClassifier
from embedlab.models.fasttext import HASH_MULTIPLIER, hash_ngrams

VOCAB, CLASSES, DIM = 30, 3, 16

CONFIGS = {
    "cnn": ("cnn", {"filters": 8, "hidden": [16]}),
    "cnn-valid": ("cnn", {"widths": [2, 4], "filters": 8, "padding": "valid", "hidden": []}),
    "bag-mean": ("bag", {"hidden": [16]}),
    "bag-sum": ("bag", {"pooling": "sum", "hidden": [16]}),
    "bag-max": ("bag", {"pooling": "max", "hidden": [16, 8]}),
    "bag-flatten": ("bag", {"pooling": "flatten", "max_length": 12, "hidden": [16]}),
    "rnn": ("rnn", {"hidden_size": 16, "hidden": [16]}),
    "rnn-bilstm-last": (
        "rnn",
        {
            "cell": "lstm",
            "hidden_size": 12,
            "bidirectional": True,
            "num_layers": 2,
            "pooling": "last",
            "hidden": [16],
        },
    ),
    "rnn-birnn-max": (
        "rnn",
        {"cell": "rnn", "hidden_size": 12, "bidirectional": True, "pooling": "max"},
    ),
    "fasttext": ("fasttext", {"ngrams": 3, "buckets": 500}),
    "fasttext-dense": ("fasttext", {"ngrams": 2, "buckets": 500, "sparse": False}),
    "fasttext-words-mlp": ("fasttext", {"ngrams": 1, "hidden": [8], "dropout": 0.2}),
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
        assert signals["ngram_ids"].shape == (4, CONFIGS[key][1].get("ngrams", 1) - 1, 12)
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
    if getattr(frozen, "ngram_vectors", None) is not None:  # n-gram rows train, words frozen
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
    assert buckets[0, 0, 0] == (5 * HASH_MULTIPLIER + 6) % 1000
    assert torch.all(buckets[1:] == -1)
    model = make("fasttext")
    # the word and n-gram tables, then the wide term's weights (one row per word)
    assert [p.shape[0] for p in model.sparse_parameters()] == [VOCAB, 501, VOCAB]
    assert make("fasttext-dense").sparse_parameters() == []
    frozen_words = build_model(
        "fasttext",
        vocab_size=VOCAB,
        num_classes=CLASSES,
        params={"ngrams": 1},
        embedding=EmbeddingSpec(dim=DIM, matrix=np.ones((VOCAB, DIM), np.float32), freeze=True),
    )
    assert frozen_words.sparse_parameters() == []  # nothing sparse left to train
    # the wide term's weights (one row per word), then the head
    assert [p.shape for p in frozen_words.dense_parameters()] == [(VOCAB, CLASSES),
                                                                 (CLASSES, DIM), (CLASSES,)]


def test_bad_input_ids_are_clear_errors() -> None:
    model = make("cnn")
    with pytest.raises(DataError, match=r"expected an integer tensor \[batch, time\]"):
        model(torch.zeros(3, 4))
    with pytest.raises(DataError, match="token ids must be in \\[0, 30\\); found ids from 0 to 30"):
        model(torch.tensor([[1, 30, 0]]))


def test_registry_names_aliases_and_schemas() -> None:
    assert model_names() == ["bag", "cnn", "fasttext", "rnn"]
    assert {"embedlab.cnn.v1", "embedlab.cnn.v2"} <= set(model_names(include_aliases=True))
    assert model_param_schema("embedlab.rnn.v1") is model_param_schema("rnn")
    assert model_class("embedlab.cnn.v1") is model_class("cnn") is CNNClassifier
    assert model_class("embedlab.fasttext.v2").family == "fasttext"
    assert model_param_schema("embedlab.rnn.v2") is model_param_schema("rnn")
    defaults = validate_model_params("cnn", {})
    assert defaults["widths"] == [1, 2, 3] and defaults["filters"] == 50
    assert validate_model_params("fasttext", None)["sparse"] is None
    assert (  # sparse=None: sparse tables only with an n-gram table
        build_model(
            "fasttext", vocab_size=VOCAB, num_classes=2, embedding=EmbeddingSpec(dim=4),
            params={"ngrams": 1},
        ).sparse_parameters()
        == []
    )
    assert len(build_model("fasttext", vocab_size=VOCAB, num_classes=2,
                           embedding=EmbeddingSpec(dim=4)).sparse_parameters()) == 3  # bigrams (+ wide)


def test_each_family_declares_what_it_can_do() -> None:
    """Explanation methods (in order), auto's preference, order-freedom, export graph and
    n-gram hashing come from the model class, whatever name it was built by."""
    expected = {  # key: (methods, auto, order free, export graph, hashing ngrams)
        "cnn": (["ig", "lime", "occlusion", "ngrams"], ("ig",), False, "conv1d", None),
        "bag-mean": (["ig", "lime", "occlusion"], ("occlusion", "ig"), True, "per-token", None),
        "bag-sum0": (["exact", "ig", "lime", "occlusion"], ("occlusion", "ig"), True,
                     "per-token", None),
        "bag-flatten": (["ig", "lime", "occlusion"], ("occlusion", "ig"), False, "per-token",
                        None),
        "rnn": (["ig", "lime", "occlusion", "attention"], ("ig",), False, "per-token", None),
        "rnn-last": (["ig", "lime", "occlusion"], ("ig",), False, "per-token", None),
        "fasttext": (["exact", "ig", "lime", "occlusion"], ("exact", "ig"), False, "per-token", 2),
        "fasttext-uni-hidden": (["ig", "lime", "occlusion"], ("exact", "ig"), True, "per-token",
                                None),
    }
    configs = {"cnn": ("embedlab.cnn.v2", {}), "bag-mean": ("bag", {}),
               "bag-sum0": ("embedlab.bag.v1", {"pooling": "sum", "hidden": []}),
               "bag-flatten": ("bag", {"pooling": "flatten", "max_length": 5}),
               "rnn": ("rnn", {"pooling": "attention"}), "rnn-last": ("rnn", {"pooling": "last"}),
               "fasttext": ("fasttext", {}),
               "fasttext-uni-hidden": ("fasttext", {"ngrams": 1, "hidden": [4]})}
    for key, (name, params) in configs.items():
        model = build_model(name, vocab_size=VOCAB, num_classes=CLASSES,
                            embedding=EmbeddingSpec(dim=4), params=params).eval()
        methods, auto, order_free, graph, ngrams = expected[key]
        assert model.family == key.split("-")[0], key
        assert model.explanation_methods() == methods, key
        assert model.auto_explanation == auto and model.order_free() == order_free, key
        export = model.export_graph()
        assert export.name == graph, key
        ids = torch.tensor([[2, 3, 4, 0, 0], [5, 0, 0, 0, 0]])
        assert torch.allclose(export(ids), model(ids), atol=1e-5), key
        hashing = model.export_hashing()
        assert (hashing and hashing["ngrams"]) == ngrams, key


def test_registry_round_trip_rebuilds_the_same_architecture() -> None:
    params = validate_model_params("embedlab.bag.v1", {"pooling": "sum", "hidden": [8]})
    model = build_model(
        "bag",
        vocab_size=VOCAB,
        num_classes=CLASSES,
        embedding=EmbeddingSpec(dim=DIM),
        params=params,
    )
    assert model.config == {"name": "embedlab.bag.v2", "params": params}
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
                "'filters'?); valid parameters: hidden, dropout, widths, filters,"
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


# ----- the per-token path (explanations differentiate through it) ---------------------------
PER_TOKEN_ROWS = SAMPLE + [[], list(range(2, 26))]  # an all-padding row and one past max_length


@pytest.mark.parametrize("key", list(CONFIGS))
def test_forward_equals_forward_embedded_of_embed(key: str) -> None:
    model = make(key).eval()
    for width in (9, 24):
        ids = pad_rows(PER_TOKEN_ROWS, width)
        with torch.no_grad():
            vectors = model.embed(ids)
            # fasttext v4's wide term: each position's share of it follows its vector
            width = DIM + (model.num_classes if getattr(model, "wide", False) else 0)
            assert vectors.shape == (len(PER_TOKEN_ROWS), len(model.feature_spans(ids)), width)
            assert torch.allclose(model(ids), model.forward_embedded(vectors, ids), atol=1e-6)


@pytest.mark.parametrize("key", list(CONFIGS))
def test_forward_embedded_ignores_padding_vectors_and_has_token_gradients(key: str) -> None:
    model = make(key).eval()
    ids = pad_rows(SAMPLE, 10)
    vectors = model.embed(ids).detach()
    spans = model.feature_spans(ids)
    noisy = vectors.clone()
    noisy[:, : ids.size(1)][ids == 0] = 5.0  # word positions that are padding
    with torch.no_grad():
        assert torch.allclose(model.forward_embedded(noisy, ids), model(ids), atol=1e-6)
    vectors.requires_grad_(True)
    model.forward_embedded(vectors, ids)[:, 0].sum().backward()
    grad = vectors.grad.abs().sum(-1)  # [batch, features]
    real = (ids != 0)[:, : ids.size(1)]
    limit = model.fixed_length or ids.size(1)
    assert grad[:, : ids.size(1)][real & (torch.arange(ids.size(1)) < limit)].gt(0).any()
    assert grad[:, : ids.size(1)][~real].eq(0).all()
    assert spans.shape == (vectors.size(1), 2)


def test_fasttext_embed_layout_words_then_ngrams() -> None:
    model = make("fasttext").eval()  # ngrams 3
    ids = pad_rows([[5, 6, 7], [8]], 4)
    vectors = model.embed(ids)
    assert vectors.shape == (2, 3 * 4, DIM + model.num_classes)  # + the wide term's shares
    assert not vectors[0, 4:, DIM:].any()  # the wide term has words only (wide_ngrams=1)
    vectors = vectors[..., :DIM]
    buckets = hash_ngrams(ids, 3, 500)
    table = model.ngram_vectors.weight
    assert torch.equal(vectors[0, 1], model.words.weight[6])  # word 1 of row 0
    assert torch.equal(vectors[0, 4 + 1], table[buckets[0, 0, 1] + 1])  # bigram (6, 7)
    assert torch.equal(vectors[0, 8 + 0], table[buckets[0, 1, 0] + 1])  # trigram (5, 6, 7)
    assert not vectors[0, 4 + 2].any() and not vectors[1, 4:].any()  # n-grams that do not exist
    spans = model.feature_spans(ids).tolist()
    assert spans[1] == [1, 2] and spans[4 + 1] == [1, 3] and spans[8 + 0] == [0, 3]


def test_forward_embedded_rejects_vectors_of_the_wrong_shape() -> None:
    model = make("fasttext")
    ids = pad_rows(SAMPLE, 6)
    with pytest.raises(DataError, match=r"expected a float tensor \[4, 18, dim\]"):
        model.forward_embedded(torch.zeros(4, 6, DIM), ids)
    with pytest.raises(DataError, match="float tensor"):
        make("cnn").forward_embedded(ids, ids)


# ----- one output head --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cnn", "bag", "rnn", "fasttext"])
def test_every_model_ends_in_the_same_head(name: str) -> None:
    model = build_model(name, vocab_size=VOCAB, num_classes=CLASSES,
                        embedding=EmbeddingSpec(dim=DIM), params={"hidden": [7, 5]})
    assert isinstance(model.head, OutputHead)
    assert [layer.out_features for layer in model.head.hidden] == [7, 5]
    assert model.head.output.in_features == 5 and model.head.output.out_features == CLASSES
    heads = [key for key in dict(model.named_parameters()) if "hidden" in key or "output" in key]
    assert all(key.startswith("head.") for key in heads)


def test_head_layers_and_dropout_placement() -> None:
    torch.manual_seed(0)
    head = OutputHead(4, [3], 2, dropout=0.5).eval()
    x = torch.randn(5, 4)
    expected = head.output(F.relu(head.hidden[0](x)))
    assert torch.allclose(head(x), expected)
    bare = OutputHead(4, [], 2, dropout=0.99).train()  # no hidden layer: dropout on the input
    torch.manual_seed(1)
    assert not torch.allclose(bare(x), bare.output(x))
    assert validate_model_params("cnn", {"hidden": 0})["hidden"] == []  # int shorthand
    assert validate_model_params("rnn", {"hidden": 12})["hidden"] == [12]
    with pytest.raises(ConfigError, match="hidden sizes must be positive"):
        validate_model_params("bag", {"hidden": [4, 0]})


# ----- versioned architectures -------------------------------------------------------------------
def test_family_names_build_the_newest_version_and_record_it() -> None:
    for family in model_names():
        model = build_model(family, vocab_size=VOCAB, num_classes=CLASSES,
                            embedding=EmbeddingSpec(dim=DIM))
        # fasttext v3: a new n-gram hash; v4: the wide term
        newest = 4 if family == "fasttext" else 2
        assert model.config["name"] == f"embedlab.{family}.v{newest}" == architecture_name(family)
        assert architecture_name(f"embedlab.{family}.v1") == f"embedlab.{family}.v2"


def test_a_versioned_name_cannot_be_rebound() -> None:
    class Impostor(make("cnn").__class__):
        pass

    with pytest.raises(ValueError, match="'embedlab.cnn.v2' is already registered"):
        register_model("cnn", version=2)(Impostor)
    with pytest.raises(ValueError, match="'embedlab.cnn.v1' is already registered"):
        register_model("cnn", version=1)(Impostor)
    assert architecture_name("cnn") == "embedlab.cnn.v2"


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("embedlab.cnn.v1", {"hidden": 8, "dropout": 0.3}, {"hidden": [8], "dropout": 0.3}),
        ("embedlab.cnn.v1", {"hidden": 0}, {"hidden": [], "dropout": 0.1}),
        ("embedlab.rnn.v1", {"fc_hidden": 6}, {"hidden": [6], "dropout": 0.1}),
        ("embedlab.bag.v1", {"hidden": [], "dropout": 0.4}, {"hidden": [], "dropout": 0.0}),
        ("embedlab.bag.v1", {"hidden": [5, 4]}, {"hidden": [5, 4], "dropout": 0.1}),
        ("embedlab.fasttext.v1", {"dropout": 0.2}, {"hidden": [], "dropout": 0.2}),
    ],
)
def test_v1_parameters_translate_to_the_same_network(name: str, old: dict, new: dict) -> None:
    params = validate_model_params(name, old)
    assert {key: params[key] for key in new} == new


def test_v1_weights_load_through_load_model() -> None:
    """A v1 cnn state dict (head weights ``hidden.*``/``output.*``) loads with the same logits."""
    model = make("cnn").eval()
    v1_state = {key.replace("head.hidden.0.", "hidden.").replace("head.output.", "output."): value
                for key, value in model.state_dict().items()}
    v1_params = {**model.config["params"], "hidden": 16}
    info = {"name": "cnn", "params": v1_params, "embedding_dim": DIM, "vocab_size": VOCAB,
            "num_classes": CLASSES}  # no version: written before versioning, i.e. v1
    loaded = load_model(info, v1_state).eval()
    ids = pad_rows(SAMPLE, 8)
    assert loaded.config["name"] == "embedlab.cnn.v2"
    assert torch.equal(loaded(ids), model(ids))
    with pytest.raises(RuntimeError, match="head.output.weight"):
        load_model({**info, "name": "embedlab.cnn.v2", "params": model.config["params"]},
                   v1_state)


def test_non_finite_weights_are_found_and_huge_finite_ones_are_not() -> None:
    """The check behind refusing nan / inf weights: a nan, an inf, infs of both signs (whose
    sum is nan) are found in a large table; finite values whose sum overflows, integer and
    empty tensors are not refused; a dtype torch cannot sum is checked value by value."""
    from embedlab.models.classifier import non_finite_weight

    for bad in (float("nan"), float("inf"), float("-inf")):
        table = torch.rand(1000, 50)
        table[999, 49] = bad
        assert non_finite_weight({"ok": torch.ones(3), "table": table}) == "table"
    both = torch.zeros(10)
    both[2], both[7] = float("inf"), float("-inf")
    assert non_finite_weight({"both": both}) == "both"
    huge = torch.full((4,), 3e38)  # finite values, an infinite sum
    assert not bool(huge.sum().isfinite())
    assert non_finite_weight({"huge": huge, "ids": torch.arange(5), "none": torch.zeros(0)}) is None
    tiny = torch.tensor([1.0, 2.0]).to(torch.float8_e5m2)  # a dtype torch cannot sum
    assert non_finite_weight({"f8": tiny}) is None
    assert non_finite_weight({"f8": torch.tensor([1.0, float("inf")]).to(torch.float8_e5m2)}) == "f8"
