"""Training samples/s and prediction texts/s of every registered model on AG-News-shaped batches.

Random token ids (vocab 20k, dim 100) with AG News lengths (``--lengths agnews``): title +
description is 40.5 ± 13 tokens (log-normal fit; shuffled batches of 64 padded to their longest
text are ~80 wide here, ~90 on the real data) — or every text exactly 45 tokens
(``--lengths fixed``). Training = forward + cross-entropy + backward + optimizer step (fused
Adam, or torch's default Adam with ``--adam default``; SparseAdam for ``sparse_parameters()``).
Prediction = eval-mode forward under ``torch.inference_mode``, in batches of 64 and in
length-sorted batches of 1024 (as the predictor does). The models run in turn, ``--repeats``
rounds; each figure is the median (and the best) of its rounds, since the 2-core machine is
shared. ``--cnn-baseline REV`` adds the cnn of an older git revision with the same weights.

    python benchmarks/models_throughput.py                  # all models, 2 threads
    python benchmarks/models_throughput.py --models cnn fasttext --lengths fixed
    python benchmarks/models_throughput.py --models fasttext --batch 1024 --texts 20480
    python benchmarks/models_throughput.py --models cnn --cnn-baseline 3958524 --threads 1
    python benchmarks/models_throughput.py --models cnn --params '{"cnn": {"sparse": true}}'
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from torch.nn import functional as F

from embedlab.models import EmbeddingSpec, build_model, model_names

AG_MEAN, AG_STD = 40.5, 13.0
_SIGMA = float(np.sqrt(np.log1p((AG_STD / AG_MEAN) ** 2)))
_MU = float(np.log(AG_MEAN) - _SIGMA**2 / 2)


def make_batches(
    count: int, batch: int, vocab: int, lengths: str, seed: int, sort: bool = False
) -> list[torch.Tensor]:
    """``count`` padded id batches; ``sort`` groups similar lengths (as prediction does)."""
    rng = np.random.default_rng(seed)
    if lengths == "fixed":
        sizes = np.full(count * batch, 45)
    else:
        sizes = np.clip(rng.lognormal(_MU, _SIGMA, count * batch).round(), 5, 160).astype(int)
    if sort:
        sizes = np.sort(sizes)
    out = []
    for i in range(count):
        part = sizes[i * batch : (i + 1) * batch]
        ids = torch.zeros(batch, int(part.max()), dtype=torch.long)
        for row, size in enumerate(part):
            ids[row, :size] = torch.from_numpy(rng.integers(2, vocab, size))
        out.append(ids)
    return out


def fit_width(batches: list[torch.Tensor], fixed: int | None) -> list[torch.Tensor]:
    """Pad/truncate every batch to ``fixed`` columns (models with ``fixed_length``)."""
    if fixed is None:
        return batches
    return [F.pad(b, (0, max(fixed - b.shape[1], 0)))[:, :fixed] for b in batches]


def train_rate(
    model: torch.nn.Module, batches: list[torch.Tensor], classes: int, fused: bool = True
) -> float:
    """Training samples per second over ``batches`` (after two warm-up steps)."""
    sparse = model.sparse_parameters()
    dense = model.dense_parameters()
    optimizers: list[torch.optim.Optimizer] = [
        torch.optim.Adam(dense, lr=1e-3, fused=True) if fused else torch.optim.Adam(dense, lr=1e-3)
    ]
    if sparse:
        optimizers.append(torch.optim.SparseAdam(sparse, lr=1e-3))
    labels = [torch.randint(0, classes, (len(b),)) for b in batches]
    model.train()

    def step(ids: torch.Tensor, y: torch.Tensor) -> None:
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(ids), y).backward()
        for opt in optimizers:
            opt.step()

    for ids, y in zip(batches[:2], labels[:2]):
        step(ids, y)
    start = time.perf_counter()
    for ids, y in zip(batches, labels):
        step(ids, y)
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


@torch.inference_mode()
def predict_rate(model: torch.nn.Module, batches: list[torch.Tensor]) -> float:
    """Prediction texts per second over ``batches``."""
    model.eval()
    model(batches[0])
    start = time.perf_counter()
    for ids in batches:
        model(ids)
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="default: all registered")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--predict-batch", type=int, default=1024)
    parser.add_argument("--vocab", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--lengths", choices=["agnews", "fixed"], default="agnews")
    parser.add_argument("--texts", type=int, default=6400, help="texts per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--adam", choices=["fused", "default"], default="fused", help="dense Adam implementation"
    )
    parser.add_argument(
        "--cnn-baseline", default=None, metavar="REV",
        help="also time the cnn of git revision REV (same weights), e.g. 3958524",
    )
    parser.add_argument(
        "--params", default="{}", help='JSON {"model": {params}}, e.g. {"cnn": {"filters": 100}}'
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    params = json.loads(args.params)
    train_batches = make_batches(args.texts // args.batch, args.batch, args.vocab, args.lengths, 1)
    mean_width = np.mean([b.shape[1] for b in train_batches])
    predict_64 = make_batches(args.texts // args.batch, args.batch, args.vocab, args.lengths, 2)
    n_big = max(args.texts // args.predict_batch, 2)
    predict_big = make_batches(n_big, args.predict_batch, args.vocab, args.lengths, 3, sort=True)
    print(
        f"threads={args.threads} vocab={args.vocab} dim={args.dim} lengths={args.lengths} "
        f"(train batch {args.batch}, mean padded width {mean_width:.0f}); {args.adam} Adam; "
        f"{args.repeats} rounds, the models in turn; median (best)"
    )
    print(
        f"{'model':14s} {'train samples/s':>20s} {'predict/s b64':>20s} "
        f"{'predict/s b' + str(args.predict_batch) + ' sorted':>24s}"
    )
    models = {}
    for name in args.models or model_names():
        models[name] = build_model(
            name,
            vocab_size=args.vocab,
            num_classes=args.classes,
            embedding=EmbeddingSpec(dim=args.dim),
            params=params.get(name, {}),
        )
    if args.cnn_baseline:  # the cnn of an older revision, same weights (benchmarks/cnn_speed.py)
        from cnn_speed import baseline_class

        cnn = models.get("cnn") or build_model(
            "cnn", vocab_size=args.vocab, num_classes=args.classes,
            embedding=EmbeddingSpec(dim=args.dim), params=params.get("cnn", {}))
        old = baseline_class(args.cnn_baseline)(
            args.vocab, args.classes, EmbeddingSpec(dim=args.dim), cnn.params)
        old.load_state_dict(cnn.state_dict())
        models = {f"cnn@{args.cnn_baseline}": old, **models}
    rates: dict[str, list[list[float]]] = {name: [[], [], []] for name in models}
    fused = args.adam == "fused"
    for _ in range(args.repeats):
        for name, model in models.items():
            tb = fit_width(train_batches, model.fixed_length)
            rates[name][0].append(train_rate(model, tb, args.classes, fused))
            rates[name][1].append(predict_rate(model, fit_width(predict_64, model.fixed_length)))
            rates[name][2].append(predict_rate(model, fit_width(predict_big, model.fixed_length)))
    for name, (train, p64, pbig) in rates.items():
        cells = [f"{statistics.median(r):,.0f} ({max(r):,.0f})" for r in (train, p64, pbig)]
        print(f"{name:14s} {cells[0]:>20s} {cells[1]:>20s} {cells[2]:>24s}")

if __name__ == "__main__":
    main()
