"""Imbalanced classes (issue 21): the training split of a data set made imbalanced by keeping
5 % of two of its classes (seeded), the test split untouched; macro-F1 and each rare class's
recall of embedlab's options against scikit-learn's ``class_weight="balanced"`` TF-IDF +
LinearSVC, all in one run. "balanced-data recall" is the defaults' recall of the class when
trained on the whole (balanced) training split: the goal is no rare class below half of it.

    python benchmarks/imbalance.py                       # AG News and TREC
    python benchmarks/imbalance.py --datasets trec --keep 0.1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score, recall_score
from sklearn.svm import LinearSVC

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from classify import accuracy_splits, machine  # noqa: E402

from embedlab.config import RunConfig  # noqa: E402
from embedlab.training.run import Splits, _carve, fit  # noqa: E402

#: (data set, the two classes made rare)
RARE = {"ag_news": ("Business", "Sci/Tech"), "trec": ("LOC", "NUM")}
CONFIGS: dict[str, dict] = {
    "defaults": {},
    "class_weights: balanced": {"training": {"class_weights": "balanced"}},
    "oversample": {"training": {"oversample": True}},
    "class_bias: macro_f1": {"decisions": {"class_bias": "macro_f1"}},
    "balanced + class_bias": {"training": {"class_weights": "balanced"},
                              "decisions": {"class_bias": "macro_f1"}},
    "oversample + class_bias": {"training": {"oversample": True},
                                "decisions": {"class_bias": "macro_f1"}},
}


def imbalanced(splits, rare: tuple[str, ...], keep: float, seed: int = 0) -> Splits:
    """Train + validation pooled, ``keep`` of each rare class kept (seeded), re-carved 90/10."""
    pool = splits.train
    rng = np.random.default_rng(seed)
    rows = []
    for c in sorted(set(pool.labels)):
        idx = np.flatnonzero(np.asarray(pool.labels) == c)
        if c in rare:
            idx = rng.choice(idx, max(2, int(round(keep * len(idx)))), replace=False)
        rows.extend(idx.tolist())
    train, val, _ = _carve(pool.subset(np.sort(rows)), 0.1, 0.0, seed)
    return Splits(train, val, splits.test, splits.class_order)


def ours(name: str, overrides: dict, splits: Splits) -> dict:
    cfg = RunConfig.from_dict({**overrides, "training": {**overrides.get("training", {}),
                                                         "progress": False, "threads": 1}})
    t0 = time.perf_counter()
    p = fit(cfg, splits.train, splits.validation, splits.class_order).predictor
    seconds = time.perf_counter() - t0
    return {"model": name, "pred": p.predict_labels(splits.test.texts), "train_s": seconds}


def svm(splits: Splits) -> dict:
    t0 = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    clf = LinearSVC(class_weight="balanced").fit(vec.fit_transform(splits.train.texts),
                                                  splits.train.labels)
    seconds = time.perf_counter() - t0
    return {"model": "TF-IDF 1-2g + LinearSVC (balanced)",
            "pred": list(clf.predict(vec.transform(splits.test.texts))), "train_s": seconds}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(RARE))
    ap.add_argument("--keep", type=float, default=0.05)
    args = ap.parse_args(argv)
    print(f"Machine: {machine()}\n")
    print(f"| dataset (rare: kept {100 * args.keep:g} %) | model | macro-F1 | rare-class recall "
          "(balanced-data recall) | train s |\n|---|---|---:|---|---:|")
    for ds in args.datasets:
        _, full = accuracy_splits(ds, folds=1)[0]
        rare = RARE[ds]
        y = full.test.labels
        reference = ours("defaults, balanced data", {}, full)
        ref_recall = dict(zip(rare, recall_score(y, reference["pred"], labels=list(rare), average=None),
                              strict=True))
        splits = imbalanced(full, rare, args.keep)
        counts = {c: splits.train.labels.count(c) for c in rare}
        rows = [reference] + [ours(n, o, splits) for n, o in CONFIGS.items()] + [svm(splits)]
        for r in rows:
            rec = recall_score(y, r["pred"], labels=list(rare), average=None)
            cells = ", ".join(f"{c} {100 * v:.1f} ({100 * ref_recall[c]:.1f})"
                              for c, v in zip(rare, rec, strict=True))
            ok = all(v >= 0.5 * ref_recall[c] for c, v in zip(rare, rec, strict=True))
            name = ds if r is reference else f"{ds} ({', '.join(f'{c} {n}' for c, n in counts.items())} train rows)"
            print(f"| {name} | {r['model']} | {100 * f1_score(y, r['pred'], average='macro'):.1f} | "
                  f"{cells}{'' if ok or r is reference else ' ✗'} | {r['train_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
