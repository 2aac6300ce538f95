"""The cnn's fast paths compute what the plain path computes: ``forward`` (distinct words
projected once, shifted column sums, max before bias and activation, a backward pass through the
chosen windows only) against ``forward_embedded`` (every window of the padded batch), and the
``sparse`` option's embedding updates."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from embedlab.config import TrainConfig, resolve_training
from embedlab.inference.forward import EncodedTexts
from embedlab.models import EmbeddingSpec, build_model
from embedlab.training.trainer import Trainer

VOCAB = 40


def make(params: dict, dim: int = 6, seed: int = 0):
    torch.manual_seed(seed)
    return build_model("cnn", vocab_size=VOCAB, num_classes=3, embedding=EmbeddingSpec(dim=dim),
                       params={"filters": 5, "dropout": 0.0, **params})


def ragged_ids(seed: int = 1) -> torch.Tensor:
    """Texts of lengths 9, 3, 0 (all padding), 1, 2, 6, with repeated words."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, 12, (6, 9), generator=generator)  # 10 words: many repeats
    for row, length in enumerate([9, 3, 0, 1, 2, 6]):
        ids[row, length:] = 0
    return ids


CASES = {
    "same": {},
    "valid": {"padding": "valid", "widths": [2, 4, 5]},
    "tanh wide": {"activation": "tanh", "widths": [1, 3, 4, 6]},
    "gelu": {"activation": "gelu"},
    "valid width 1": {"padding": "valid", "widths": [1]},
}


@pytest.mark.parametrize("case", list(CASES))
def test_forward_and_its_gradients_equal_the_plain_path(case: str) -> None:
    model = make(CASES[case])
    model.train()
    wide = torch.cat([ragged_ids(), torch.zeros(6, 3, dtype=torch.long)], 1)
    ids = wide[:, :9]  # a non-contiguous view, as trimmed batches are
    fast = model(ids)
    (fast * torch.arange(1.0, 4.0)).sum().backward()
    fast_grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    plain = model.forward_embedded(model.embed(ids), ids)
    (plain * torch.arange(1.0, 4.0)).sum().backward()
    torch.testing.assert_close(fast, plain, atol=1e-6, rtol=1e-5)
    for name, p in model.named_parameters():
        torch.testing.assert_close(fast_grads[name], p.grad, atol=1e-6, rtol=1e-5, msg=name)
    assert fast_grads["embedding.weight"][12:].abs().sum() == 0  # words never seen: no gradient


def test_padding_after_a_text_changes_nothing_and_empty_batches_pool_to_zeros() -> None:
    model = make({}).eval()
    ids = ragged_ids()
    longer = torch.cat([ids, torch.zeros(6, 7, dtype=torch.long)], 1)
    with torch.no_grad():
        torch.testing.assert_close(model(ids), model(longer))
        empty = model(torch.zeros(2, 0, dtype=torch.long))
        torch.testing.assert_close(empty, model.head(torch.zeros(2, 15)))
        torch.testing.assert_close(model(torch.zeros(2, 4, dtype=torch.long)), empty)


def test_embedding_dropout_drops_each_occurrence_on_its_own() -> None:
    """With embedding dropout in training, two copies of the same word in a batch are dropped
    independently (each occurrence is projected on its own), as in ``forward_embedded``."""
    model = make({"embedding_dropout": 0.5, "widths": [1], "hidden": []})
    model.train()
    ids = torch.full((64, 1), 5)  # 64 texts, the same one word
    torch.manual_seed(3)
    logits = model(ids)
    assert len({tuple(row.tolist()) for row in logits.detach()}) > 1
    model.eval()
    with torch.no_grad():
        single = model(ids)
    assert len({tuple(row.tolist()) for row in single}) == 1


def test_sparse_is_a_training_setting_not_part_of_the_architecture() -> None:
    model = make({"sparse": True})
    assert "sparse" not in model.config["params"]
    assert model.embedding.sparse and model.sparse_parameters() == [model.embedding.weight]
    assert model.dense_parameters() and all(
        p is not model.embedding.weight for p in model.dense_parameters())
    model.embedding.weight.requires_grad_(False)  # a frozen table has nothing to train
    assert model.sparse_parameters() == []
    assert make({}).sparse_parameters() == []


def test_sparse_from_a_run_config_trains_sparse_and_is_recorded_in_the_run_only(tiny, tmp_path) -> None:
    """`--set model.params.sparse=true` used to be dropped when the config was resolved: the run
    trained dense and its config.yaml did not say sparse."""
    import yaml

    from embedlab.config import RunConfig
    from embedlab.training.run import Splits, resolve_config, train_run

    cfg = RunConfig.from_dict({"model": {"name": "cnn", "params": {"sparse": True, "filters": 4}},
                               "embeddings": {"source": None, "dim": 8},
                               "training": {"epochs": 1, "progress": False}})
    result = train_run(cfg, tmp_path / "run", splits=Splits(tiny, None, None, None))
    model = result.predictor.model
    assert model.embedding.sparse and model.sparse_parameters() == [model.embedding.weight]
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text(encoding="utf-8"))
    assert saved["model"]["params"]["sparse"] is True
    assert "sparse" not in model.config["params"]  # not part of the architecture
    assert "sparse" not in resolve_config(RunConfig.from_dict({"model": {"name": "cnn"}})).model.params


def _step(model, ids: torch.Tensor, y: torch.Tensor, optimizers) -> None:
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(ids), y).backward()
    for optimizer in optimizers:
        optimizer.step()


def _optimizers(model) -> list[torch.optim.Optimizer]:
    config = resolve_training(TrainConfig(lr=1e-2, clip_grad_norm=None),
                              model.params.training_defaults)
    return Trainer(model, config).build_optimizers()


def test_sparse_first_step_equals_dense_adam_then_moves_only_the_batch_rows() -> None:
    dense, sparse = make({}), make({"sparse": True})
    sparse.load_state_dict(dense.state_dict())
    dense_opt, sparse_opt = _optimizers(dense), _optimizers(sparse)
    assert [type(o).__name__ for o in sparse_opt] == ["Adam", "SparseAdam"]
    assert [type(o).__name__ for o in dense_opt] == ["Adam"]
    first = torch.tensor([[2, 3, 4, 2], [3, 4, 0, 0]])
    second = torch.tensor([[6, 7, 8, 0], [9, 6, 0, 0]])
    y = torch.tensor([0, 2])
    start = dense.embedding.weight.detach().clone()

    _step(dense, first, y, dense_opt)
    _step(sparse, first, y, sparse_opt)
    assert sparse.embedding.weight.grad.is_sparse
    # Adam's first step, except that SparseAdam adds eps to sqrt(v) before the bias
    # correction (a 1/sqrt(1 - beta2) larger eps): equal to 1e-4 on steps of lr = 1e-2
    for (name, p), q in zip(dense.named_parameters(), sparse.parameters()):
        torch.testing.assert_close(p, q, atol=1e-4, rtol=0, msg=name)
    moved = (sparse.embedding.weight != start).any(1).nonzero().squeeze(1).tolist()
    assert moved == [2, 3, 4]

    after_first = sparse.embedding.weight.detach().clone()
    _step(dense, second, y, dense_opt)
    _step(sparse, second, y, sparse_opt)
    changed = (sparse.embedding.weight != after_first).any(1).nonzero().squeeze(1).tolist()
    assert changed == [6, 7, 8, 9]  # the lazy update: rows 2-4 keep their values
    dense_changed = (dense.embedding.weight != after_first).any(1).nonzero().squeeze(1).tolist()
    assert dense_changed == [2, 3, 4, 6, 7, 8, 9]  # dense Adam's momentum still moves 2-4


def test_sparse_cnn_learns_a_keyword_task_through_the_trainer() -> None:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, VOCAB, (96, 8), generator=generator)
    y = torch.randint(0, 3, (96,), generator=generator)
    ids[:, 3] = y + 2  # the class keyword: words 2, 3, 4
    data = EncodedTexts.from_padded(ids.int().numpy(), torch.full((96,), 8).numpy(), y.numpy(),
                                    None)
    model = make({"sparse": True, "filters": 8})
    trainer = Trainer(model, resolve_training(
        TrainConfig(epochs=15, batch_size=16, lr=2e-2, progress=False, patience=0),
        model.params.training_defaults))
    trainer.fit(data)
    with torch.no_grad():
        accuracy = (model(ids).argmax(1) == y).float().mean().item()
    assert accuracy == 1.0


def test_seeded_turns_nan_filling_off_and_restores_it() -> None:
    from embedlab.training.seed import seeded

    flag = torch.utils.deterministic.fill_uninitialized_memory
    try:
        torch.utils.deterministic.fill_uninitialized_memory = True
        with seeded(0):
            assert torch.are_deterministic_algorithms_enabled()
            assert not torch.utils.deterministic.fill_uninitialized_memory
        assert torch.utils.deterministic.fill_uninitialized_memory
    finally:
        torch.utils.deterministic.fill_uninitialized_memory = flag
