"""Word-level encoding: HF ``tokenizers`` (WordLevel + WhitespaceSplit) against ``str.split``
and a dict lookup, on each data set's preprocessed training split.

Usage::

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/encode.py [--repeats 7] [--datasets trec ...]

Both ways give the same ids (checked on every data set before timing). Prints seconds per
pass over the training split — median (min-max) of ``--repeats`` passes, tokenizers and
``str.split`` in turn — and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

from machine import describe

from embedlab.data import load_dataset
from embedlab.text import Preprocessor
from embedlab.text.vocab import UNK_ID, Vocabulary

DATASETS = ["trec", "sst2", "sst1", "mr", "subj", "ag_news"]


def tokenizers_ids(vocab: Vocabulary, texts: list[str]) -> list[list[int]]:
    cap = vocab.config.max_length
    encs = vocab._tokenizer.encode_batch_fast(texts, add_special_tokens=False)
    return [e.ids[:cap] for e in encs]


def split_ids(vocab: Vocabulary, texts: list[str]) -> list[list[int]]:
    cap, get = vocab.config.max_length, vocab.stoi.get
    return [[get(w, UNK_ID) for w in t.split()[:cap]] for t in texts]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=DATASETS)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    print(f"Machine: {describe()}\n")
    print("| data set | texts | tokens | tokenizers s | str.split s | tokenizers / str.split |")
    print("|---|---:|---:|---|---|---:|")
    for name in args.datasets:
        pre = Preprocessor()
        texts = [pre(t) for t in load_dataset(name, "train").texts]
        vocab = Vocabulary.fit(texts)
        if tokenizers_ids(vocab, texts) != split_ids(vocab, texts):
            raise SystemExit(f"{name}: the two encodings differ")
        times: dict[str, list[float]] = {"tok": [], "split": []}
        for _ in range(args.repeats):
            for key, fn in (("tok", tokenizers_ids), ("split", split_ids)):
                t0 = time.perf_counter()
                fn(vocab, texts)
                times[key].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        cell = {k: f"{med[k]:.4f} ({min(v):.4f}-{max(v):.4f})" for k, v in times.items()}
        tokens = sum(len(t.split()) for t in texts)
        print(f"| {name} | {len(texts):,} | {tokens:,} | {cell['tok']} | {cell['split']} | "
              f"{med['tok'] / med['split']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
