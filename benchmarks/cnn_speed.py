"""The cnn's training and prediction speed before/after a change, measured in the same process.

Variants (``--variants``):

* ``before+nanfill``: ``before`` as ``embedlab train`` ran it at the baseline, whose
  deterministic mode also filled every new tensor with NaN (``seeded`` now turns that off);
* ``before``: ``src/embedlab/models/cnn.py`` as it was at ``--baseline`` (a git revision, loaded
  from ``git show``), dense gradients, Adam;
* ``after``: the current cnn, dense gradients, Adam (the same optimizer as ``before``);
* ``compiled``: ``after`` through ``torch.compile(dynamic=True)`` (steps only; the first
  step's seconds, which include compiling, are printed apart);
* ``sparse``: the current cnn with ``sparse=True``: sparse embedding gradients, SparseAdam on
  the table (a lazy Adam: only the rows of the batch's words move; the trainer's dense gradient
  clipping no longer sees the table).

Everything else (data, vocabulary, trainer, predictor) is the current code. Two modes:

* ``steps``: real AG News batches (the default run's preprocessing and vocabulary, shuffled
  batches of ``--batch``), training steps through :meth:`Trainer.train_step` (clipping
  included) and prediction through :func:`predict_logits` on the test texts. The variants run
  in turn, ``--rounds`` times; the table gives each one's median (and best) samples/s, since
  the 2-core machine is shared.
* ``runs``: complete ``train_run`` calls (the ``embedlab train`` defaults, ``--datasets``,
  ``--seeds``), variants alternating within each seed: training samples/s and the test
  accuracy and prediction texts/s from its metrics; median and mean per variant.

Both run inside :func:`embedlab.training.seed.seeded` (deterministic algorithms on) as
``embedlab train`` does. ``OMP_WAIT_POLICY`` must be set in the environment before start.

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/cnn_speed.py steps --threads 1
    python benchmarks/cnn_speed.py runs --datasets ag_news trec --seeds 0 1 2 --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

import embedlab.training.run as run_module
from embedlab.config import RunConfig
from embedlab.inference.forward import EncodedTexts, predict_logits
from embedlab.models import build_model
from embedlab.models.classifier import ClassifierModule
from embedlab.text.preprocess import Preprocessor
from embedlab.text.vocab import Vocabulary
from embedlab.training.loader import shard_batches
from embedlab.training.seed import seeded
from embedlab.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]


def baseline_class(revision: str) -> type[ClassifierModule]:
    """The ``CNNClassifier`` class of ``cnn.py`` at ``revision`` (not registered)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/embedlab/models/cnn.py"], cwd=ROOT, check=True,
        capture_output=True, text=True).stdout
    source = source.replace('@register_model("cnn", version=2)\n', "")
    module = types.ModuleType("cnn_baseline")
    exec(compile(source, f"cnn.py@{revision}", "exec"), module.__dict__)  # noqa: S102 (our own file)
    return module.CNNClassifier


def variant_builder(variant: str, before: type[ClassifierModule]) -> Callable[..., Any]:
    """A ``build_model`` replacement that builds the cnn as ``variant`` wants."""

    def build(name: str, **kwargs: Any) -> ClassifierModule:
        if variant == "sparse":
            kwargs["params"] = {**(kwargs.get("params") or {}), "sparse": True}
        model = build_model(name, **kwargs)
        if variant.startswith("before"):
            old = before(kwargs["vocab_size"], kwargs["num_classes"], kwargs["embedding"],
                         model.params)
            old.load_state_dict(model.state_dict())
            old.config = model.config
            return old
        return model

    return build


def nan_filling(on: bool) -> Callable[..., Any]:
    """``seeded`` with deterministic mode's NaN-filling of new tensors ``on`` or off."""

    @contextlib.contextmanager
    def wrapped(*args: Any, **kwargs: Any) -> Iterator[None]:
        with seeded(*args, **kwargs):
            torch.utils.deterministic.fill_uninitialized_memory = on
            yield

    return wrapped


def steps(args: argparse.Namespace, before: type[ClassifierModule]) -> None:
    config = run_module.resolve_config(RunConfig.from_dict(
        {"data": {"dataset": "ag_news"}, "model": {"name": "cnn"},
         "training": {"batch_size": args.batch}}))
    splits = run_module.load_splits(config)
    pre = Preprocessor.from_config(config.preprocess)
    texts = pre.batch(splits.train.texts)
    vocab = Vocabulary.fit(texts, config.vocab)
    classes = sorted(set(splits.train.labels))
    y = torch.tensor([classes.index(label) for label in splits.train.labels])
    train = EncodedTexts.build(vocab, texts, y.numpy(), None)
    test = EncodedTexts.build(vocab, pre.batch(splits.test.texts), None, None)
    batches = shard_batches(len(train), args.batch, torch.Generator().manual_seed(0))
    batches = batches[: args.steps]
    spec, _ = run_module.build_embedding_spec(config, vocab)
    print(f"embeddings: {config.embeddings.source or 'random'} ({spec.dim}d, "
          f"{'frozen' if spec.freeze else 'fine-tuned'})")
    print(f"AG News: {len(train)} train texts, vocabulary {len(vocab)}, {len(batches)} steps of "
          f"{args.batch}; test {len(test)} texts; threads={args.threads} "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}; "
          f"baseline {args.baseline}; {args.rounds} rounds, variants in turn")
    models = {}
    for variant in args.variants:
        with seeded(0):
            model = variant_builder(variant, before)(
                "cnn", vocab_size=len(vocab), num_classes=len(classes), embedding=spec)
        trainer = Trainer(model, config.training)
        optimizers = trainer.build_optimizers()
        if variant == "compiled":
            trainer._parallel = torch.compile(model, dynamic=True)
            start = time.perf_counter()
            trainer.train_step(train.batch(batches[0]), train.y[batches[0]], optimizers)
            print(f"compiled: first training step (compiling) {time.perf_counter() - start:.1f} s")
        models[variant] = (trainer, optimizers)
    rates: dict[str, dict[str, list[float]]] = {v: {"train": [], "predict": []} for v in models}
    with seeded(0, args.threads):
        for _ in range(args.rounds):
            for variant, (trainer, optimizers) in models.items():
                torch.utils.deterministic.fill_uninitialized_memory = variant.endswith("+nanfill")
                trainer.model.train()
                trainer.train_step(train.batch(batches[0]), train.y[batches[0]], optimizers)
                start = time.perf_counter()
                for index in batches:
                    trainer.train_step(train.batch(index), train.y[index], optimizers)
                rates[variant]["train"].append(
                    sum(len(b) for b in batches) / (time.perf_counter() - start))
                trainer.model.eval()
                start = time.perf_counter()
                predict_logits(trainer._parallel, test)
                rates[variant]["predict"].append(len(test) / (time.perf_counter() - start))
    print(f"{'variant':14s} {'train samples/s median':>23s} {'(best)':>8s} "
          f"{'predict texts/s median':>23s} {'(best)':>8s}")
    for variant, rate in rates.items():
        print(f"{variant:14s} {statistics.median(rate['train']):23,.0f} {max(rate['train']):8,.0f} "
              f"{statistics.median(rate['predict']):23,.0f} {max(rate['predict']):8,.0f}")


def runs(args: argparse.Namespace, before: type[ClassifierModule]) -> None:
    print(f"complete train_run (embedlab train defaults, model cnn); threads={args.threads} "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}; "
          f"baseline {args.baseline}; seeds {args.seeds}, variants alternating")
    original = run_module.build_model
    print(f"{'data set':10s} {'variant':14s} {'seed':>4s} {'train samples/s':>16s} "
          f"{'epochs':>6s} {'test acc %':>10s} {'predict texts/s':>16s}")
    table: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    try:
        for dataset in args.datasets:
            for seed in args.seeds:
                order = args.variants if seed % 2 == 0 else args.variants[::-1]
                for variant in order:
                    run_module.build_model = variant_builder(variant, before)
                    run_module.seeded = nan_filling(variant.endswith("+nanfill"))
                    config = RunConfig.from_dict(
                        {"data": {"dataset": dataset}, "model": {"name": "cnn"},
                         "training": {"seed": seed, "threads": args.threads,
                                      "progress": False}})
                    result = run_module.train_run(config)
                    metrics = result.metrics
                    if dataset == args.datasets[0] and seed == args.seeds[0] and variant == order[0]:
                        print(f"embeddings: {result.predictor.config.embeddings.source or 'random'} "
                              f"({result.predictor.model_info['embedding_dim']}d)")
                    row = (metrics["train"]["samples_per_s"], 100 * metrics["test"]["accuracy"],
                           metrics["test"]["texts_per_s"])
                    table.setdefault((dataset, variant), []).append(row)
                    print(f"{dataset:10s} {variant:14s} {seed:4d} {row[0]:16,.0f} "
                          f"{metrics['train']['epochs']:6d} {row[1]:10.2f} {row[2]:16,.0f}",
                          flush=True)
    finally:
        run_module.build_model = original
        run_module.seeded = seeded
    print(f"\n{'data set':10s} {'variant':14s} {'train samples/s median':>23s} "
          f"{'test acc % mean':>16s} {'predict texts/s median':>23s}")
    for (dataset, variant), rows in table.items():
        train, acc, predict = zip(*rows)
        print(f"{dataset:10s} {variant:14s} {statistics.median(train):23,.0f} "
              f"{statistics.mean(acc):16.2f} {statistics.median(predict):23,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["steps", "runs"])
    parser.add_argument("--variants", nargs="+", default=["before+nanfill", "before", "after", "sparse"],
                        choices=["before+nanfill", "before", "after", "compiled", "sparse"])
    parser.add_argument("--baseline", default="3958524", help="git revision of 'before'")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64, help="steps: training batch size")
    parser.add_argument("--steps", type=int, default=60, help="steps: timed batches per round")
    parser.add_argument("--rounds", type=int, default=5, help="steps: rounds of all variants")
    parser.add_argument("--datasets", nargs="+", default=["ag_news", "trec"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    before = baseline_class(args.baseline)
    (steps if args.mode == "steps" else runs)(args, before)


if __name__ == "__main__":
    main()
