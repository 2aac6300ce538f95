"""The training loop through the Trainer and the run pipeline: what each option really does
(class weights, SparseAdam, clipping, weight decay, the LR scheduler, the epoch hook, device,
defaults), equal distributed shards, and a vocabulary that never sees held-out text."""

from __future__ import annotations

import copy
from itertools import pairwise

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from embedlab.config import RunConfig, TrainConfig, resolve_training
from embedlab.errors import ConfigError
from embedlab.inference.forward import EncodedTexts
from embedlab.models import EmbeddingSpec, build_model
from embedlab.models.fasttext import FastTextParams
from embedlab.training.loader import shard_batches
from embedlab.training.run import fit, load_splits, resolve_config, train_run
from embedlab.training.trainer import Trainer

VOCAB, CLASSES = 40, 3


def toy(n: int = 60, seed: int = 0, flip: bool = False) -> EncodedTexts:
    """Class c <=> the row holds a key token 2+3c..4+3c; fillers 11..39; ``flip`` shifts labels."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, 10), dtype=np.int32)
    lengths = np.zeros(n, dtype=np.int64)
    labels = np.arange(n) % CLASSES
    for i, label in enumerate(labels):
        row = list(rng.integers(11, VOCAB, rng.integers(2, 8)))
        row.insert(int(rng.integers(0, len(row) + 1)), 2 + 3 * label + int(rng.integers(0, 3)))
        ids[i, : len(row)] = row
        lengths[i] = len(row)
    y = (labels + 1) % CLASSES if flip else labels
    return EncodedTexts.from_padded(ids, lengths, y)


def model(name: str = "bag", seed: int = 0, **params):
    torch.manual_seed(seed)
    return build_model(name, vocab_size=VOCAB, num_classes=CLASSES, embedding=EmbeddingSpec(dim=8),
                       params=params)


def config(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 3, "batch_size": 16, "progress": False, **kw})


def trainer_for(net, cfg: TrainConfig, **kw) -> Trainer:
    """A Trainer on ``cfg`` resolved with ``net``'s own training defaults, as a run resolves it."""
    return Trainer(net, resolve_training(cfg, net.params.training_defaults), **kw)


# ----- the vocabulary is fitted on the training split only ----------------------------------
def test_vocabulary_never_sees_validation_or_test_text(tmp_path):
    rows = ["text,label"] + [f"common words here uniq{i},{'ab'[i % 2]}" for i in range(40)]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "test.csv").write_text("text,label\ncommon testonly words,a\nhere testonly2,b\n")
    cfg = RunConfig.from_dict({"data": {"path": str(tmp_path / "train.csv"),
                                        "test_path": str(tmp_path / "test.csv"), "val_size": 0.25},
                               "training": {"epochs": 1, "progress": False}})
    splits = load_splits(cfg)
    vocab = set(train_run(cfg).predictor.vocab.itos)
    train_words = {w for t in splits.train.texts for w in t.split()}
    val_words = {w for t in splits.validation.texts for w in t.split()} - train_words
    assert len(val_words) == 10  # the carved validation rows' own tokens
    assert val_words.isdisjoint(vocab)
    assert {"testonly", "testonly2"}.isdisjoint(vocab)
    assert {w for w in train_words if w.startswith("uniq")} <= vocab


# ----- options that must reach the loss and the optimizers -----------------------------------
def test_balanced_class_weights_reach_the_loss():
    every = torch.arange(30)
    data = EncodedTexts.from_padded(toy(30).batch(every).numpy(), toy(30).lengths.numpy(),
                                    np.array([0] * 24 + [1] * 4 + [2] * 2))
    weights = np.array([30 / (3 * 24), 30 / (3 * 4), 30 / (3 * 2)], dtype=np.float32)
    net = model(hidden=[], dropout=0.0)  # no dropout: the train-mode forward is deterministic
    with torch.no_grad():
        logits = net(data.batch(every))
    expected = float(F.cross_entropy(logits, data.y, weight=torch.from_numpy(weights)))
    unweighted = float(F.cross_entropy(logits, data.y))
    trainer = trainer_for(net, config(batch_size=30, lr=1e-6), class_weights=weights)
    row = trainer.train_epoch(data, 1, trainer.build_optimizers(), torch.Generator())
    assert row["train_loss"] == pytest.approx(expected, rel=1e-5)
    assert abs(expected - unweighted) > 0.01
    loss, _ = trainer.evaluate(data)  # the validation loss is weighted too
    with torch.no_grad():
        logits = net(data.batch(every))
    assert loss == pytest.approx(float(F.cross_entropy(logits, data.y,
                                                       weight=torch.from_numpy(weights))), rel=1e-5)


@pytest.mark.parametrize(("name", "params", "tables"), [
    ("fasttext", {"ngrams": 2, "buckets": 50}, ["words.weight", "ngram_vectors.weight",
                                                      "wide_table.weight"]),
    ("bag", {"pooling": "sum", "sparse": True}, ["embedding.weight"]),
])
def test_sparse_tables_train_with_sparse_adam(name, params, tables):
    net = model(name, **params)
    trainer = trainer_for(net, config(epochs=1, lr=1e-2, optimizer="adam"))  # fasttext: sgd by default
    optimizers = trainer.build_optimizers()
    assert [type(o).__name__ for o in optimizers] == ["Adam", "SparseAdam"]
    named = dict(net.named_parameters())
    sparse_group = optimizers[1].param_groups[0]["params"]
    assert {id(p) for p in sparse_group} == {id(named[t]) for t in tables}
    before = {t: named[t].detach().clone() for t in tables}
    trainer.fit(toy())
    for t in tables:
        assert named[t].grad.is_sparse
        assert not torch.equal(named[t], before[t])


def test_gradient_clipping_clips_the_dense_gradient_norm():
    data = toy(32)
    ids, y = data.batch(torch.arange(32)), data.y

    def grad_norm(clip):
        net = model("cnn", filters=4)
        trainer = trainer_for(net, config(clip_grad_norm=clip, lr=1e-3))
        trainer.train_step(ids, y, trainer.build_optimizers())
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        return float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))

    raw = grad_norm(None)
    assert raw > 1e-2
    assert grad_norm(1e-3) == pytest.approx(1e-3, rel=1e-3)


def test_weight_decay_shrinks_the_dense_weights():
    def head_norm(decay):
        net = model(hidden=[16])
        trainer_for(net, config(epochs=3, lr=1e-2, weight_decay=decay)).fit(toy())
        return float(net.head.hidden[0].weight.detach().norm())

    assert head_norm(0.5) < 0.8 * head_norm(0.0)


def test_lr_drops_on_a_validation_plateau():
    # validation labels are shifted: the better the model fits, the worse its validation loss
    trainer = trainer_for(model(), config(epochs=4, lr=1e-2, patience=0, lr_patience=0))
    history = trainer.fit(toy(), toy(30, seed=1, flip=True))
    lrs = [row["lr"] for row in history]
    assert lrs[0] == 1e-2 and lrs[-1] < lrs[0]
    for before, after in pairwise(history):  # lr of the next epoch
        expected = before["lr"] if before["best"] else before["lr"] * 0.1
        assert after["lr"] == pytest.approx(expected)


def test_on_epoch_end_sees_every_row_and_can_stop_training():
    seen = []

    def hook(row):
        seen.append(dict(row))
        return row["epoch"] == 2

    trainer = trainer_for(model(), config(epochs=6, patience=0), on_epoch_end=hook)
    history = trainer.fit(toy(), toy(30, seed=1))
    assert len(history) == 2 and [row["epoch"] for row in seen] == [1, 2]
    assert {"train_loss", "val_loss", "val_acc", "lr"} <= set(seen[0])


def test_fit_through_the_pipeline_passes_the_hook(tiny):
    rows = []
    fit(RunConfig.from_dict({"model": {"name": "fasttext"}, "training": {"epochs": 3}}),
        tiny, tiny, on_epoch_end=lambda row: rows.append(row["val_loss"]) or False)
    assert len(rows) == 3


# ----- one source of training defaults -----------------------------------------------------------
def test_training_defaults_come_from_the_model_params():
    fasttext = resolve_training(config(), FastTextParams.training_defaults)
    assert (fasttext.lr, fasttext.patience) == (
        FastTextParams.training_defaults["lr"], FastTextParams.training_defaults["patience"])
    explicit = resolve_training(config(lr=0.5, patience=7), FastTextParams.training_defaults)
    assert (explicit.lr, explicit.patience) == (0.5, 7)
    resolved = resolve_config(RunConfig.from_dict({"model": {"name": "cnn"}}))
    assert (resolved.training.lr, resolved.training.patience) == (1e-3, 3)
    assert resolved.model.name == "embedlab.cnn.v2" and resolved.model.params["filters"] == 50
    assert resolve_config(resolved) == resolved  # resolving twice changes nothing


def test_a_run_resolves_its_config_once_and_saves_that(tmp_path, monkeypatch):
    from embedlab.training import run

    calls = []
    original = run.resolve_config
    monkeypatch.setattr(run, "resolve_config", lambda c: calls.append(c) or original(c))
    rows = ["text,label"] + [f"word{i % 7} shared,{'ab'[i % 2]}" for i in range(40)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    cfg = RunConfig.from_dict({"data": {"path": str(tmp_path / "d.csv")},
                               "embeddings": {"source": None},
                               "training": {"epochs": 1, "progress": False}})
    result = train_run(cfg, tmp_path / "run")
    assert len(calls) == 1
    saved = RunConfig.from_yaml(tmp_path / "run" / "config.yaml")
    assert saved == original(cfg) == result.predictor.config
    assert (saved.training.optimizer, saved.training.lr, saved.embeddings.dim) == ("sgd", 0.2, 100)


def test_the_trainer_takes_only_a_resolved_config():
    with pytest.raises(ValueError, match="resolved training config; unset: lr, patience"):
        Trainer(model("fasttext"), config(optimizer="sgd", schedule="linear"))
    resolved = resolve_training(config(), FastTextParams.training_defaults)
    assert Trainer(model("fasttext"), resolved).config is resolved  # taken as given


# ----- device ------------------------------------------------------------------------------------
def test_cpu_device_trains_and_returns_the_model_on_cpu():
    net = model()
    trainer = trainer_for(net, config(device="auto" if not torch.cuda.is_available() else "cpu"))
    assert trainer.device == torch.device("cpu")
    trainer.fit(toy())
    assert {p.device.type for p in net.parameters()} == {"cpu"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_unavailable_cuda_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match=r"device 'cuda': CUDA is not available") as caught:
        trainer_for(model(), config(device="cuda"))
    assert "\n" not in str(caught.value)
    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 100},
                               "training": {"device": "cuda:0", "epochs": 1}})
    with pytest.raises(ConfigError, match="CUDA is not available"):
        train_run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_bad_device_name_is_a_config_error():
    with pytest.raises(ConfigError, match="training.device: expected auto, cpu, cuda or cuda:N"):
        RunConfig.from_dict({"training": {"device": "gpu"}})
    assert RunConfig.from_dict({"training": {"device": "cuda:1"}}).training.device == "cuda:1"


# ----- distributed shards ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [33, 7, 1])
def test_every_rank_gets_the_same_number_of_batches(n):
    shards = [shard_batches(n, 8, torch.Generator().manual_seed(3), rank, 2) for rank in (0, 1)]
    assert len(shards[0]) == len(shards[1])
    rows = [torch.cat(s) for s in shards]
    assert len(rows[0]) == len(rows[1]) == -(-n // 2)
    assert set(torch.cat(rows).tolist()) == set(range(n))  # every row is trained on
    alone = torch.cat(shard_batches(n, 8, torch.Generator().manual_seed(3)))
    assert sorted(alone.tolist()) == list(range(n))


def test_trainer_steps_can_run_alone():
    net = model("fasttext", ngrams=2, buckets=50)
    trainer = trainer_for(net, config(lr=1e-2))
    optimizers = trainer.build_optimizers()
    assert len(trainer.build_schedulers(optimizers)) == len(optimizers) == 1  # SGD, two groups
    data = toy()
    before = copy.deepcopy(net.state_dict())
    loss, correct = trainer.train_step(data.batch(torch.arange(8)), data.y[:8], optimizers)
    assert loss > 0 and 0 <= correct <= 8
    assert any(not torch.equal(before[k], v) for k, v in net.state_dict().items())
    val_loss, val_acc = trainer.evaluate(data)
    assert val_loss > 0 and 0 <= val_acc <= 1


def test_fitting_no_rows_is_an_error():
    empty = EncodedTexts.from_padded(np.zeros((0, 3), np.int32), np.zeros(0, np.int64),
                                     np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="no training rows"):
        trainer_for(model(), config()).fit(empty)


def test_class_weights_option_reaches_the_trainer_through_the_pipeline(tiny):
    keep, counts = [], {}
    for i, label in enumerate(tiny.labels):
        if counts.get(label, 0) < (10 if label == "World" else 3):
            keep.append(i)
            counts[label] = counts.get(label, 0) + 1
    skewed = tiny.subset(keep)  # 10 World, 3 of each other class

    def first_loss(mode):
        cfg = RunConfig.from_dict({"model": {"name": "fasttext"},
                                   "training": {"epochs": 1, "class_weights": mode}})
        return fit(cfg, skewed).history[0]["train_loss"]

    assert first_loss("none") == first_loss("none")  # seeded: only the weights differ
    assert first_loss("balanced") != pytest.approx(first_loss("none"), rel=1e-4)


_CTRL_C_IN_TORCH_IMPORT = """
import sys
import torch
from embedlab.training.seed import seeded

class CtrlC:  # Ctrl-C lands while torch imports its compiler (the first deterministic-mode call)
    fired = False
    def find_spec(self, name, path=None, target=None):
        if name == "torch._dynamo.guards" and not CtrlC.fired:
            CtrlC.fired = True
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
try:
    with seeded(0):
        pass
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""


@pytest.mark.slow  # a real process: seconds
def test_ctrl_c_while_torch_imports_stays_a_keyboard_interrupt():
    """It was masked by an AttributeError (half-imported torch._dynamo) from seeded()'s cleanup,
    so `embedlab train` printed a traceback and exited 1 instead of 130."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", _CTRL_C_IN_TORCH_IMPORT], capture_output=True, check=False,
                       text=True, timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert r.stdout.strip() == "KeyboardInterrupt", r.stderr[-500:]
