"""One training step of the default ``fasttext`` model: autograd + ``torch.optim.SGD`` (the
trainer's generic step) against the model's own ``sgd_step`` (written-out gradients), and the
two ways of adding a batch's row gradients into a table.

Usage::

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/sgd_step.py [--datasets trec sst1 ag_news] [--rounds 5]

Real batches of 64 from each data set's training split (the default preprocessing and
vocabulary, GloVe 6B 50d fine-tuned as the defaults train, bigrams in 100,000 buckets), one
thread. Each round runs every variant over the same 200 batches in turn; the table gives
microseconds per step, median of the rounds (best in brackets).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from machine import describe

from embedlab.config import RunConfig
from embedlab.data import load_dataset
from embedlab.training.run import fit, resolve_config
from embedlab.training.trainer import Trainer

DATASETS = ["trec", "sst1", "ag_news"]


def setup(name: str):
    """A default model and trainer for ``name`` (one epoch of the defaults: GloVe, vocabulary,
    encoded training texts), and 200 shuffled batches of 64."""
    data = load_dataset(name, "train")
    cfg = RunConfig.from_dict({"training": {"epochs": 1, "progress": False, "threads": 1}})
    result = fit(cfg, data)
    predictor = result.predictor
    encoded = predictor.encode(data.texts)
    y = torch.as_tensor(predictor.labels.encode(data.labels, source="train"))
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    batches = [(encoded.batch(i), y.index_select(0, i)) for i in order.split(64)[:200]]
    trainer = Trainer(predictor.model, resolve_config(cfg).training)
    return predictor.model, trainer, batches


def time_steps(step, batches) -> float:
    t0 = time.perf_counter()
    for ids, y in batches:
        step(ids, y)
    return (time.perf_counter() - t0) / len(batches) * 1e6


def measure(name: str, rounds: int) -> str:
    """One table row for data set ``name``."""
    model, trainer, batches = setup(name)
    model.train()
    optimizers = trainer.build_optimizers()
    lr = optimizers[0].param_groups[0]["lr"] * 1e-3  # small steps: the weights stay sane
    for o in optimizers:
        for g in o.param_groups:
            g["lr"] = lr
    can = type(model).can_step_sgd
    table = model.ngram_vectors.weight
    dim = table.size(1)

    def generic(ids, y):
        type(model).can_step_sgd = lambda self: False
        try:
            trainer.train_step(ids, y, optimizers)
        finally:
            type(model).can_step_sgd = can

    def written(ids, y):
        trainer.train_step(ids, y, optimizers)

    def rows(add):
        def run(ids, y):
            # as sgd_step adds them: one step vector per text, repeated over its rows
            keep = ids > 0
            flat, lengths = ids[keep], keep.sum(1)
            step = torch.full((len(ids), dim), 1e-6)
            with torch.no_grad():
                if add == "index":
                    table.index_add_(0, flat, step.repeat_interleave(lengths, 0), alpha=-1.0)
                else:
                    table.scatter_add_(0, flat.unsqueeze(1).expand(-1, dim),
                                       (-step).repeat_interleave(lengths, 0))
        return run

    variants = {"generic": generic, "written": written, "index": rows("index"),
                "scatter": rows("scatter")}
    for fn in variants.values():  # warm-up
        time_steps(fn, batches[:10])
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for key, fn in variants.items():
            times[key].append(time_steps(fn, batches))
    med = {k: statistics.median(v) for k, v in times.items()}
    cell = {k: f"{med[k]:,.0f} ({min(v):,.0f})" for k, v in times.items()}
    tokens = statistics.mean(int((ids > 0).sum()) for ids, _ in batches)
    return (f"| {name} | {tokens:,.0f} | {cell['generic']} | {cell['written']} | "
            f"{med['generic'] / med['written']:.2f} | {cell['index']} | {cell['scatter']} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=DATASETS)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"Machine: {describe(1)}\n")
    print("| data set | tokens per batch | autograd + SGD µs | sgd_step µs | speed-up | "
          "rows: index_add_ µs | rows: scatter_add_ µs |")
    print("|---|---:|---|---|---:|---|---|")
    for name in args.datasets:
        print(measure(name, args.rounds), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
