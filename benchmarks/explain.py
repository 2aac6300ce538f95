"""Explanation benchmark: faithfulness and speed of every method, per model family and data set.

Usage::

    EMBEDLAB_DATA_MIRROR=../shared/data OMP_NUM_THREADS=1 python benchmarks/explain.py
    python benchmarks/explain.py --datasets trec --families cnn --texts 50 --no-write

For TREC, SST-2 and AG News (AG News: a stratified 10k sample of train), each family is trained
with its defaults (random embeddings, at most 5 epochs, 10 % of train held out for early
stopping); then ``embedlab.explain.faithfulness`` scores every method the family can do on a
fixed random sample of the official test split (seed 0): ``--texts`` texts (default 200) for the
fast methods and ``--lime-texts`` (default 50) for ``lime`` with 1,000 samples. Reported per
family × method: comprehensiveness and sufficiency at 20 %, AOPC (mean comprehensiveness over
k = 5/10/20/50 %), the random ranking's AOPC on the same texts, and milliseconds per
explanation (method only, one thread). Lime runs on the first ``--lime-texts`` of the sample,
with occlusion and random recomputed on those texts so that its row compares like with like. Writes a Markdown section to ``benchmarks/RESULTS.md``
unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch
from machine import describe

from embedlab.config import RunConfig
from embedlab.data import stratified_split
from embedlab.explain import faithfulness
from embedlab.explain.explainer import available_methods
from embedlab.explain.model_view import ModelView
from embedlab.training.run import fit, load_splits

HERE = Path(__file__).resolve().parent
DATASETS = {"trec": "trec", "sst2": "sst2", "ag_news": "ag_news"}
FAMILIES = {
    "cnn": {"name": "cnn"},
    "bag": {"name": "bag", "params": {"pooling": "mean"}},
    "rnn": {"name": "rnn"},
    "fasttext": {"name": "fasttext"},
}
AG_TRAIN = 10_000


def train(dataset: str, family: str):
    # random embeddings, as the docstring says (the package default is now GloVe fine-tuned)
    cfg = RunConfig.from_dict({"data": {"dataset": dataset}, "model": FAMILIES[family],
                               "embeddings": {"source": None}, "training": {"epochs": 5}})
    splits = load_splits(cfg)
    tr = splits.train
    if dataset == "ag_news" and len(tr) > AG_TRAIN:
        keep, _, _ = stratified_split(tr.labels, val_size=1 - AG_TRAIN / len(tr), test_size=0.0,
                                      seed=0)
        tr = tr.subset(keep)
    res = fit(cfg, tr, splits.validation, splits.class_order)
    return res.predictor, splits.test


def sample(texts: list[str], n: int) -> list[str]:
    if len(texts) <= n:
        return list(texts)
    return [texts[i] for i in sorted(random.Random(0).sample(range(len(texts)), n))]


def machine() -> str:
    return describe(torch.get_num_threads())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--lime-texts", type=int, default=50)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    header = ("| data | family | method | texts | comp@20% ↑ | suff@20% ↓ | AOPC ↑ | random AOPC | "
              "occlusion AOPC | ms / explanation |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    print(header, flush=True)
    for ds in args.datasets:
        for fam in args.families:
            start = time.perf_counter()
            predictor, test = train(DATASETS[ds], fam)
            trained = time.perf_counter() - start
            view = ModelView(predictor)
            methods = available_methods(view)
            fast = [m for m in methods if m != "lime"]
            texts = sample(test.texts, args.texts)
            reports = [(faithfulness(view, texts, fast, data=ds), fast)]
            if "lime" in methods and args.lime_texts:
                # lime on the first texts of the same sample, with occlusion as the reference
                reports.append((faithfulness(view, texts[:args.lime_texts], ["lime", "occlusion"],
                                             settings={"lime": {"num_samples": 1000}}, data=ds),
                                ["lime"]))
            for report, names in reports:
                floor = report.row("random").aopc_comprehensiveness
                reference = report.row("occlusion").aopc_comprehensiveness
                for m in names:
                    r = report.row(m)
                    line = (f"| {ds} | {fam} | {m} | {r.texts} | {r.comprehensiveness['20']:.3f} | "
                            f"{r.sufficiency['20']:.3f} | {r.aopc_comprehensiveness:.3f} | "
                            f"{floor:.3f} | {reference:.3f} | {r.ms_per_text:.1f} |")
                    rows.append(line)
                    print(line, flush=True)
            print(f"<!-- {ds} {fam}: trained in {trained:.0f}s -->", file=sys.stderr, flush=True)
    if not args.no_write:
        section = (
            "\n## Explanations: faithfulness and speed (benchmarks/explain.py)\n\n"
            f"Machine: {machine()}. The CPU was shared with other jobs while this ran, so the "
            "milliseconds are upper bounds. Models: each family's defaults, random embeddings, at "
            f"most 5 epochs (AG News: {AG_TRAIN:,} training texts). Texts: a fixed random sample "
            f"of the test split ({args.texts} per set; lime: {args.lime_texts}, 1,000 samples). "
            "comp/suff: ERASER comprehensiveness / sufficiency at 20 % of the tokens; AOPC: mean "
            "comprehensiveness over k = 5/10/20/50 %; random AOPC: a random ranking on the same "
            "texts (the floor); occlusion AOPC: leave-one-out on the same texts (the reference).\n\n" + header + "\n" + "\n".join(rows) + "\n")
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(section)
        print(f"appended to {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
