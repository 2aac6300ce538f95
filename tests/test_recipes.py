"""The default recipe (issue 10): fastText's training schedule (SGD, linearly decaying rate,
fixed epochs), the fasttext model's n-gram hash and bigrams with sparse updates, and the
default pretrained vectors (GloVe 6B 50d when installed, a logged fallback when not)."""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pytest
import torch

from embedlab import TextClassifier
from embedlab.config import DEFAULT_VECTORS, RunConfig, TrainConfig, resolve_vectors
from embedlab.embeddings.registry import Source, get_source
from embedlab.inference.forward import EncodedTexts
from embedlab.models import EmbeddingSpec, build_model
from embedlab.models.fasttext import HASH_MULTIPLIER, V2_HASH_MULTIPLIER, hash_ngrams
from embedlab.training.run import resolve_config
from embedlab.training.trainer import Trainer

GLOVE = get_source(DEFAULT_VECTORS).installed


def toy(n: int = 48, seed: int = 0) -> EncodedTexts:
    """Class = which of two key tokens (2 or 3) the row holds, among fillers 4..19."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, 6), dtype=np.int32)
    lengths = np.full(n, 6)
    labels = np.arange(n) % 2
    for i, label in enumerate(labels):
        row = list(rng.integers(4, 20, 5))
        row.insert(int(rng.integers(0, 6)), 2 + label)
        ids[i] = row
    return EncodedTexts.from_padded(ids, lengths, labels)


def fasttext_model(**params):
    torch.manual_seed(0)
    return build_model("fasttext", vocab_size=20, num_classes=2, embedding=EmbeddingSpec(dim=8),
                       params={"buckets": 200, **params})


# ----- the schedule -------------------------------------------------------------------------
def test_sgd_rate_decays_linearly_to_zero_over_the_fixed_epochs():
    data, val = toy(48), toy(16, seed=1)
    cfg = TrainConfig(optimizer="sgd", schedule="linear", lr=0.5, epochs=4, batch_size=16,
                      patience=1, progress=False)
    trainer = Trainer(fasttext_model(), cfg)
    history = trainer.fit(data, val)
    assert len(history) == 4  # patience does not stop a fixed schedule
    steps = 3  # 48 rows / 16 per batch
    expected = [0.5 * (1 - (e * steps) / (4 * steps)) for e in range(4)]
    assert [row["lr"] for row in history] == pytest.approx(expected)  # per-example lr per epoch
    assert trainer.best_epoch == 4 and [row["best"] for row in history] == [False] * 3 + [True]


def test_sgd_steps_lr_times_batch_on_the_mean_loss_and_ends_at_zero():
    cfg = TrainConfig(optimizer="sgd", schedule="linear", lr=0.1, epochs=2, batch_size=16,
                      patience=0, progress=False)
    trainer = Trainer(fasttext_model(ngrams=2), cfg)
    optimizers = trainer.build_optimizers()
    assert [type(o).__name__ for o in optimizers] == ["SGD"]
    groups = optimizers[0].param_groups  # the dense head, then the sparse tables (wide included)
    assert [len(g["params"]) for g in groups] == [2, 3]
    assert all(g["lr"] == pytest.approx(1.6) for g in groups)
    schedulers = trainer.build_schedulers(optimizers, trainer.total_steps(48))
    assert trainer.total_steps(48) == 6
    for _ in range(6):
        for o in optimizers:
            o.step()
        for s in schedulers:
            s.step()
    assert all(g["lr"] == 0.0 for g in groups)


def _autograd_sgd_step(net, ids, y, lr, weight_decay, weights, clip):
    """The generic update the written-out step must equal: autograd, clip the dense (head)
    gradients, torch.optim.SGD with weight decay on the head only."""
    sparse = {id(p) for p in net.sparse_parameters()}
    dense = [p for p in net.parameters() if p.requires_grad and id(p) not in sparse]
    tables = [p for p in net.parameters() if id(p) in sparse]
    opt = torch.optim.SGD([{"params": dense, "weight_decay": weight_decay},
                           {"params": tables, "weight_decay": 0.0}], lr=lr)
    loss = torch.nn.functional.cross_entropy(net(ids), y, weight=weights)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(dense, clip)
    opt.step()
    return loss.item()


@pytest.mark.parametrize("freeze", [False, True])
def test_written_out_sgd_step_makes_the_autograd_update(freeze):
    """Rows of different lengths, an empty row, repeated words, class weights, a clip that
    bites and weight decay: the fasttext model's own step moves every weight as autograd + SGD."""
    reference = build_model("fasttext", vocab_size=30, num_classes=3,
                            embedding=EmbeddingSpec(dim=8, freeze=freeze),
                            params={"buckets": 50})
    torch.manual_seed(1)
    with torch.no_grad():
        for p in reference.parameters():
            p.normal_(0, 1.0)  # large weights: big gradients, so the clip below is active
    written = build_model("fasttext", vocab_size=30, num_classes=3,
                          embedding=EmbeddingSpec(dim=8, freeze=freeze), params={"buckets": 50})
    written.load_state_dict(reference.state_dict())
    assert written.can_step_sgd()
    ids = torch.tensor([[5, 6, 7, 5, 9, 0], [2, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0],
                        [1, 4, 4, 4, 8, 29]])
    y = torch.tensor([0, 2, 1, 2])
    weights = torch.tensor([0.5, 1.0, 2.0])
    head = torch.cat([p.detach().flatten() for p in reference.head.parameters()])
    loss = _autograd_sgd_step(reference, ids, y, 0.7, 0.01, weights, clip=0.5)
    grad_norm = torch.cat([p.grad.flatten() for p in reference.head.parameters()]).norm()
    total, correct = written.sgd_step(ids, y, 0.7, 0.01, weights, clip=0.5)
    assert total == pytest.approx(4 * loss, rel=1e-6)
    assert 0 <= correct <= 4
    moved = torch.cat([p.detach().flatten() for p in written.head.parameters()]) - head
    assert moved.abs().max() > 0 and grad_norm < 0.5 + 1e-4  # the clip acted
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(written.state_dict()[name], value, rtol=1e-5, atol=1e-6)
    assert all(p.grad is None for p in written.parameters())


def test_trainer_takes_the_written_out_step_and_trains_as_autograd_does(monkeypatch):
    """Two epochs of the fasttext recipe through Trainer.fit, with and without the model's own
    step (on the rows it packed once, before the first epoch): the same weights to float
    rounding."""
    cfg = TrainConfig(optimizer="sgd", schedule="linear", lr=0.2, epochs=2, batch_size=16,
                      patience=0, progress=False)
    fast = fasttext_model(ngrams=2)
    calls: list[str] = []
    for name in ("sgd_prepare", "sgd_step_bags", "sgd_step"):
        original = getattr(type(fast), name)
        monkeypatch.setattr(type(fast), name, lambda self, *a, _o=original, _n=name, **k:
                            calls.append(_n) or _o(self, *a, **k))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Trainer(fast, cfg).fit(toy(48), toy(16, seed=1))
    # the training rows packed once, 3 batches x 2 epochs; the validation rows packed once,
    # when the first epoch is scored
    assert calls == ["sgd_prepare"] + ["sgd_step_bags"] * 3 + ["sgd_prepare"] + ["sgd_step_bags"] * 3
    assert not [w for w in caught if "lr_scheduler" in str(w.message)]  # no false alarm
    slow = fasttext_model(ngrams=2)
    can = type(slow).can_step_sgd
    monkeypatch.setattr(type(slow), "can_step_sgd", lambda self: False)
    Trainer(slow, cfg).fit(toy(48), toy(16, seed=1))
    assert len(calls) == 8
    monkeypatch.setattr(type(slow), "can_step_sgd", can)
    # training texts over the packing's budget step on padded batches, as before the packing
    import embedlab.training.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "PACKED_TOKENS", 48 * 6 - 1)
    padded = fasttext_model(ngrams=2)
    Trainer(padded, cfg).fit(toy(48), toy(16, seed=1))
    assert calls[8:] == ["sgd_step"] * 6
    for name, value in padded.state_dict().items():
        torch.testing.assert_close(fast.state_dict()[name], value, rtol=1e-5, atol=1e-6)
    for name, value in slow.state_dict().items():
        torch.testing.assert_close(fast.state_dict()[name], value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("wide_ngrams", [1, 2])
def test_validation_scored_from_its_packing_is_the_forward_passes_score(monkeypatch, wide_ngrams):
    """In a packed fit the trainer scores the validation rows from a packing made once
    (``logits_of_bags``) instead of the forward pass at every epoch: the same loss and accuracy
    as the forward pass gives on the same weights (rows of several lengths, an empty one),
    scored a chunk of consecutive rows at a time."""
    monkeypatch.setattr("embedlab.training.trainer.PACKED_EVAL_ROWS", 8)
    cfg = TrainConfig(optimizer="sgd", schedule="linear", lr=0.5, epochs=2, batch_size=16,
                      patience=0, progress=False)
    val = toy(21, seed=2)
    ids = val.batch(torch.arange(len(val))).numpy().copy()
    lengths = np.arange(len(val)) % 7  # 0..6 tokens
    ids[np.arange(ids.shape[1]) >= lengths[:, None]] = 0
    val = EncodedTexts.from_padded(ids, lengths, val.y.numpy())
    model = fasttext_model(ngrams=3, wide_ngrams=wide_ngrams)
    calls: list[int] = []
    original = type(model).logits_of_bags
    monkeypatch.setattr(type(model), "logits_of_bags",
                        lambda self, bags: calls.append(1) or original(self, bags))
    trainer = Trainer(model, cfg)
    history = trainer.fit(toy(48), val)
    assert len(calls) == 6  # chunks of 8, 8 and 5 rows per epoch
    loss, acc = trainer.evaluate(val)  # after fit: no packing, the forward pass
    assert len(calls) == 6
    assert history[-1]["val_loss"] == pytest.approx(loss, rel=1e-5)
    assert history[-1]["val_acc"] == acc
    assert 0 < loss < 5 and not torch.equal(model.wide_weight, torch.zeros_like(model.wide_weight))


def test_a_callback_scoring_a_third_split_leaves_the_validation_packing_alone(monkeypatch):
    """An ``on_epoch_end`` callback that evaluates other rows gets the forward pass's scores,
    and the fit packs its training and validation rows once each (the third split would
    otherwise evict the validation packing, made again at every epoch)."""
    cfg = TrainConfig(optimizer="sgd", schedule="linear", lr=0.5, epochs=3, batch_size=16,
                      patience=0, progress=False)
    model = fasttext_model(ngrams=2)
    packed: list[int] = []
    original = type(model).sgd_prepare
    monkeypatch.setattr(type(model), "sgd_prepare",
                        lambda self, batches: packed.append(1) or original(self, batches))
    third, seen = toy(19, seed=3), []
    trainer = Trainer(model, cfg)
    trainer.on_epoch_end = lambda row: seen.append(trainer.evaluate(third)) and None
    trainer.fit(toy(48), toy(21, seed=2))
    assert len(packed) == 2 and len(seen) == 3
    assert seen[-1] == pytest.approx(trainer.evaluate(third), rel=1e-6)  # after fit: forward


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("wide_ngrams", [1, 2])
def test_step_on_packed_rows_is_the_step_on_padded_ids(multilabel, wide_ngrams):
    """sgd_prepare packs every row's words, n-gram buckets and tf-idf shares once; a step on a
    batch cut from an epoch's gathering of the packing (rows out of order and repeated, an
    empty row, repeated words, rows of other lengths than their batch's padding) moves every
    weight as the step on its ids."""
    ids = torch.tensor([[5, 6, 7, 5, 9, 0, 0], [2, 3, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0],
                        [1, 4, 4, 4, 8, 29, 3], [7, 7, 0, 0, 0, 0, 0]])
    y = (torch.tensor([[1.0, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0], [0, 0, 1]]) if multilabel
         else torch.tensor([0, 2, 1, 2, 0]))

    def model():
        torch.manual_seed(3)
        net = build_model("fasttext", vocab_size=30, num_classes=3, embedding=EmbeddingSpec(dim=8),
                          params={"buckets": 50, "ngrams": 3, "wide_ngrams": wide_ngrams})
        net.observe_training([ids[:2], ids[2:]])
        with torch.no_grad():
            net.wide_weight.normal_(0, 1.0)
        return net

    padded, packed = model(), model()
    packing = packed.sgd_prepare([ids[:3, :5], ids[3:]])  # chunks trimmed as EncodedTexts does
    order = torch.tensor([3, 0, 2, 4, 1, 0])  # an epoch's order (a repeat, as oversampling)
    batches = [order[:4], order[4:]]
    for _ in range(2):  # two epochs of two batches
        cut = packing.take(order).batches([len(b) for b in batches])
        for index in batches:
            rows = ids.index_select(0, index)
            rows = rows[:, : int((rows != 0).sum(1).max())]  # padded as the trainer pads it
            one = padded.sgd_step(rows, y[index], 0.7, 0.01, None, clip=0.5)
            two = packed.sgd_step_bags(next(cut), y[index], 0.7, 0.01, None, clip=0.5)
            assert one[0] == pytest.approx(two[0], rel=1e-6) and one[1] == two[1]
    for name, value in padded.state_dict().items():
        torch.testing.assert_close(packed.state_dict()[name], value, rtol=1e-5, atol=1e-6)
    assert not torch.equal(padded.wide_weight, model().wide_weight)  # the wide term moved


def test_plateau_schedule_still_restores_the_best_epoch():
    cfg = TrainConfig(optimizer="adam", schedule="plateau", lr=0.05, epochs=3, batch_size=16,
                      patience=0, progress=False)
    trainer = Trainer(fasttext_model(ngrams=1), cfg)
    history = trainer.fit(toy(48), toy(16, seed=1))
    best = min(range(3), key=lambda i: history[i]["val_loss"]) + 1
    assert trainer.best_epoch == best


def test_model_training_defaults_fill_unset_settings():
    fast = resolve_config(RunConfig.from_dict({"model": {"name": "fasttext"}})).training
    assert (fast.optimizer, fast.schedule, fast.epochs, fast.patience) == ("sgd", "linear", 10, 0)
    assert fast.threads == 1
    cnn = resolve_config(RunConfig.from_dict({"model": {"name": "cnn"}})).training
    assert (cnn.optimizer, cnn.schedule, cnn.epochs, cnn.threads) == ("adam", "plateau", 10, None)
    mine = resolve_config(RunConfig.from_dict({"model": {"name": "fasttext"},
                                               "training": {"epochs": 3, "optimizer": "adam"}}))
    assert (mine.training.epochs, mine.training.optimizer) == (3, "adam")


# ----- the n-gram hash and bigrams ----------------------------------------------------------
def test_bigram_hash_spreads_like_random_hashing_and_v2_keeps_its_own():
    a, b = np.meshgrid(np.arange(2, 302), np.arange(2, 302))
    ids = torch.as_tensor(np.stack([a.ravel(), b.ravel()], 1))  # 90,000 distinct bigrams
    buckets = 100_000
    expected = buckets * (1 - math.exp(-len(ids) / buckets))  # distinct buckets, random hash
    new = hash_ngrams(ids, 2, buckets)[:, 0, 0].unique().numel()
    old = hash_ngrams(ids, 2, buckets, V2_HASH_MULTIPLIER)[:, 0, 0].unique().numel()
    assert new > 0.97 * expected and old < 0.5 * expected  # v2: 3a + b mod 10^5
    assert build_model("embedlab.fasttext.v2", vocab_size=5, num_classes=2,
                       embedding=EmbeddingSpec(dim=4)).hash_multiplier == V2_HASH_MULTIPLIER
    assert build_model("fasttext", vocab_size=5, num_classes=2,
                       embedding=EmbeddingSpec(dim=4)).hash_multiplier == HASH_MULTIPLIER


def test_bigrams_with_sparse_sgd_learn_word_order_that_unigrams_cannot():
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]
    texts, labels = [], []
    for i, w in enumerate(words):
        for v in words[i + 1:]:
            texts += [f"{w} {v}", f"{v} {w}"]
            labels += ["first", "second"]
    kw = {"model": "fasttext", "embeddings": None, "embedding_dim": 16, "epochs": 60,
          "lr": 0.5, "val_size": 0.0, "threads": 1}
    bigram = TextClassifier(model_params={"ngrams": 2, "buckets": 5000}, **kw).fit(texts, labels)
    unigram = TextClassifier(model_params={"ngrams": 1}, **kw).fit(texts, labels)
    assert bigram.predictor_.model.sparse  # sparse tables, trained with SGD
    assert bigram.score(texts, labels) == 1.0
    assert unigram.score(texts, labels) <= 0.6  # "a b" and "b a" have the same words


# ----- the default vectors ------------------------------------------------------------------
SENTS = ["the film was wonderful and moving", "a great and beautiful story",
         "the plot was dull and boring", "a terrible waste of time",
         "wonderful acting , great music", "boring , slow and terrible"] * 3
POLARITY = ["pos", "pos", "neg", "neg", "pos", "neg"] * 3


def test_defaults_are_the_fasttext_recipe():
    cfg = RunConfig()
    assert cfg.model.name == "fasttext" and cfg.embeddings.source == "auto"
    assert not cfg.embeddings.freeze
    assert TextClassifier().to_config().model_dump()["model"] == cfg.model_dump()["model"]
    assert TextClassifier().to_config().embeddings.source == "auto"


@pytest.mark.skipif(not GLOVE, reason="glove-6b-50d (the glove extra) is not installed")
def test_default_classifier_fine_tunes_glove_when_installed():
    clf = TextClassifier(epochs=3, threads=1).fit(SENTS, POLARITY)
    assert clf.predictor_.config.embeddings.source == DEFAULT_VECTORS  # recorded, reproducible
    assert clf.embeddings_coverage_ is not None
    assert clf.predictor_.model.words.weight.shape[1] == 50
    assert clf.predictor_.model.words.weight.requires_grad  # fine-tuned


def test_a_given_embedding_size_with_auto_vectors_trains_random_vectors_of_that_size():
    # auto means GloVe 6B 50d only while no size is asked for: a grid over embeddings.dim
    # (the Flax guide's 10 / 20) or TextClassifier(embedding_dim=12) gets what it asked for
    resolved = resolve_config(RunConfig().override({"embeddings.dim": 12}))
    assert resolved.embeddings.source is None and resolved.embeddings.dim == 12
    clf = TextClassifier(epochs=3, embedding_dim=12, threads=1).fit(SENTS, POLARITY)
    assert clf.predictor_.config.embeddings.source is None
    assert clf.predictor_.model.words.weight.shape[1] == 12
    unset = resolve_config(RunConfig().override({"embeddings.source": None}))
    assert unset.embeddings.dim == 100  # random vectors without a size: 100, recorded
    named = resolve_config(RunConfig().override({"embeddings.source": "glove-6b-50d",
                                                 "embeddings.dim": 300}))
    assert named.embeddings.source == "glove-6b-50d"  # a named source is kept; its size wins


@pytest.mark.skipif(not GLOVE, reason="glove-6b-50d (the glove extra) is not installed")
def test_a_size_given_with_named_vectors_is_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        clf = TextClassifier(epochs=1, embeddings="glove-6b-50d", embedding_dim=300,
                             threads=1).fit(SENTS, POLARITY)
    assert clf.predictor_.model.words.weight.shape[1] == 50
    assert "embeddings.dim=300 is ignored: the glove-6b-50d vectors are 50-d" in caplog.text


def test_default_classifier_falls_back_to_random_vectors_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(Source, "installed", property(lambda self: False))
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        assert resolve_vectors("auto") is None
        clf = TextClassifier(epochs=3, threads=1).fit(SENTS, POLARITY)
    assert "glove-6b-50d is not installed" in caplog.text and "embedlab[glove]" in caplog.text
    assert clf.predictor_.config.embeddings.source is None
    assert clf.embeddings_coverage_ is None
    assert clf.predictor_.model.words.weight.shape[1] == 100
    assert clf.predict(["a wonderful story"]).shape == (1,)
    assert resolve_vectors("glove-6b-50d") == "glove-6b-50d"  # named sources are not touched


# --------------------------------------------------------------------------- the wide term (issue 19)


def test_wide_term_takes_idf_and_scale_from_the_training_texts():
    model = fasttext_model()
    assert model.config["name"] == "embedlab.fasttext.v4" and model.wide
    # word 5 is in every text, word 6 in one; 4 texts of 2, 3, 4 and 3 words
    ids = torch.tensor([[5, 6, 0, 0], [5, 7, 7, 0], [5, 8, 9, 10], [5, 7, 11, 0]])
    model.observe_training([ids[:2], ids[2:]])
    idf = model.wide_idf
    assert float(idf[5]) == pytest.approx(math.log(5 / 5) + 1)
    assert float(idf[6]) == pytest.approx(math.log(5 / 2) + 1)
    assert float(idf[7]) == pytest.approx(math.log(5 / 3) + 1)  # twice in one text: df 2
    # wide_scale None: sqrt(mean words per text / 12) = sqrt(3 / 12)
    assert float(model.wide_scale) == pytest.approx(math.sqrt(3 / 12))
    fixed = fasttext_model(wide_scale=2.0)
    fixed.observe_training([ids])
    assert float(fixed.wide_scale) == 2.0
    # each text's wide vector is (1 + log tf) * idf, L2-normalised, times the scale
    features = model._wide_features(ids[1:2])
    shares = model._wide_shares(features)[0]
    x5, x7 = float(idf[5]), (1 + math.log(2)) * float(idf[7])
    norm = math.hypot(x5, x7)
    assert float(shares[0]) == pytest.approx(x5 / norm * math.sqrt(3 / 12), rel=1e-5)
    assert float(shares[1] + shares[2]) == pytest.approx(x7 / norm * math.sqrt(3 / 12), rel=1e-5)
    assert float(shares[3:].abs().sum()) == 0.0  # padding and bigrams (wide_ngrams=1): none


@pytest.mark.parametrize("wide_ngrams", [1, 2])
def test_wide_term_counts_do_not_depend_on_the_padding(wide_ngrams):
    """A text's idf and tf-idf shares are the same however wide its batch is padded (term
    counts sort only the real positions), with repeated words, an empty row and n-grams."""
    model = fasttext_model(ngrams=3, wide_ngrams=wide_ngrams)
    rows = [[5, 7, 7, 19, 5, 7], [6], [], [8, 8, 8, 8]]  # 19: the last word id
    narrow, wide = (torch.tensor([r + [0] * (width - len(r)) for r in rows]) for width in (6, 15))
    model.observe_training([narrow])
    idf = model.wide_idf.clone()
    model.observe_training([wide])
    torch.testing.assert_close(model.wide_idf, idf, rtol=0, atol=0)

    def per_feature(ids):  # each row's share per feature, whatever its position
        features = model._wide_features(ids)
        shares = model._wide_shares(features)
        return [sorted((int(f), round(float(v), 6)) for f, v in zip(fr, sr, strict=True) if f >= 0)
                for fr, sr in zip(features, shares, strict=True)]

    assert per_feature(narrow) == per_feature(wide)
    assert per_feature(narrow)[2] == []  # the empty row has no feature


def test_wide_term_is_in_the_per_token_path_and_saved_with_the_run(tmp_path):
    """forward == forward_embedded(embed) with the wide shares in the vectors, and the idf and
    scale learnt from the data come back with a saved TextClassifier."""
    texts = [f"the report says {w} about it" for w in ("good", "fine", "bad", "poor")] * 6
    labels = ["pos", "pos", "neg", "neg"] * 6
    clf = TextClassifier(epochs=3, embeddings=None, embedding_dim=8).fit(texts, labels)
    model = clf.predictor_.model
    torch.nn.init.normal_(model.wide_weight)
    ids = torch.tensor([[2, 3, 4, 0], [5, 5, 6, 7]])
    torch.testing.assert_close(model(ids), model.forward_embedded(model.embed(ids), ids))
    assert model.embed(ids).shape[-1] == 8 + 2
    clf.save(tmp_path / "run")
    again = TextClassifier.load(tmp_path / "run")
    torch.testing.assert_close(again.predictor_.model.wide_idf, model.wide_idf)
    assert float(again.predictor_.model.wide_scale) == float(model.wide_scale) != 1.0


def test_wide_term_learns_a_rare_decisive_word_inside_long_texts():
    """Long texts (120 random filler words) whose class is one word among them: the mean of
    (random) vectors dilutes it and stays at chance; the wide term finds it."""
    rng = np.random.default_rng(0)
    fillers = [f"w{i}" for i in range(300)]
    keys = {"alpha": "a", "beta": "b", "gamma": "c"}

    def make(n):
        texts, labels = [], []
        for i in range(n):
            key = list(keys)[i % 3]
            words = list(rng.choice(fillers, 120))
            words.insert(int(rng.integers(0, 120)), key)
            texts.append(" ".join(words))
            labels.append(keys[key])
        return texts, labels

    train, test = make(300), make(90)
    wide = TextClassifier(embeddings=None, embedding_dim=16).fit(*train)
    mean_only = TextClassifier(embeddings=None, embedding_dim=16,
                               model_params={"wide": False}).fit(*train)
    assert mean_only.score(*test) < 0.45 and wide.score(*test) > 0.65


def test_training_says_how_many_texts_max_length_cuts(caplog):
    texts = ["a b c d e f", "a b", "c d e f g h i", "g h"] * 3
    labels = ["x", "y", "x", "y"] * 3
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        TextClassifier(epochs=1, embeddings=None, embedding_dim=4, max_length=4,
                       val_size=0.0).fit(texts, labels)
    assert any("6 of 12 training texts are longer than vocab.max_length=4 tokens" in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        TextClassifier(epochs=1, embeddings=None, embedding_dim=4, max_length=None,
                       val_size=0.0).fit(texts, labels)
    assert not any("max_length" in r.getMessage() for r in caplog.records)
