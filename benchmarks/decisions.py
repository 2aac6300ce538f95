"""Decisions you can trust (issue 21): calibration, conformal sets and out-of-distribution
flags of the default model, measured on the accuracy suite's splits.

For every data set: the defaults are trained on its training split (validation for early
stopping, as ``embedlab train``); the run's decisions are fitted on the validation split as the
run fits them (``fit_decisions``: bias-corrected temperature scaling, the default, and, for
comparison, the temperature alone); on the test split we report accuracy, ECE / Brier / log
loss before and after, and the coverage and mean size of split-conformal sets at 90 % and 95 %
calibrated on validation. The OOD table trains on one set and scores its test texts against
the test texts of the others (AUROC of the detector's score; the share of in-distribution test
texts flagged).

``--accuracy`` measures what BCTS does to accuracy instead: for each set and seed, one fit of
the defaults, its test accuracy from the raw logits (what the temperature alone gives) and from
the run's calibrated probabilities; on the whole splits and on stratified subsets of the
training split whose validation is carved from the subset (15 %), as a user with that many
labelled texts would have it.

    python benchmarks/decisions.py                      # every set, prints the tables
    python benchmarks/decisions.py --datasets trec sst2 --no-ood
    python benchmarks/decisions.py --accuracy --seeds 3 --sizes 0 300 1000   # 0: the whole split
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from classify import ACCURACY_DATASETS, accuracy_splits, machine  # noqa: E402

from embedlab.config import RunConfig  # noqa: E402
from embedlab.decisions.calibration import (  # noqa: E402
    calibration_figures,
    expected_calibration_error,
    softmax_at,
)
from embedlab.decisions.conformal import set_figures  # noqa: E402
from embedlab.decisions.fitted import fit_decisions  # noqa: E402
from embedlab.decisions.ood import energy  # noqa: E402
from embedlab.training.run import Splits, _carve, fit  # noqa: E402

OOD_SETS = ["ag_news", "trec", "sst2", "goemotions"]


def outputs(predictor, texts: list[str]):
    """(logits, known, lengths, encoded) of non-empty texts."""
    enc = predictor.encode_arrays(texts)
    keep = np.flatnonzero(enc.lengths > 0)
    enc = enc.subset(keep)
    return predictor._logits(enc, 512), enc.known, enc.lengths, keep


def train_default(splits, seed: int = 0):
    cfg = RunConfig.from_dict({"training": {"progress": False, "seed": seed, "threads": 1}})
    t0 = time.perf_counter()
    res = fit(cfg, splits.train, splits.validation, splits.class_order)
    return res.predictor, time.perf_counter() - t0


def classes_of(predictor, labels: list[str], keep: np.ndarray) -> np.ndarray:
    index = {c: i for i, c in enumerate(predictor.classes)}
    return np.array([index[labels[i]] for i in keep])


def calibration_row(name: str, splits) -> tuple[dict, object]:
    predictor, train_s = train_default(splits)
    zv, knv, lv, kv = outputs(predictor, splits.validation.texts)
    yv = classes_of(predictor, splits.validation.labels, kv)
    zt, _, _, kt = outputs(predictor, splits.test.texts)
    yt = classes_of(predictor, splits.test.labels, kt)
    dec = fit_decisions(zv, yv, knv, lv)  # the run's: bcts
    alone = fit_decisions(zv, yv, knv, lv, calibration="temperature", ood_rate=None)
    before, t_only, after = softmax_at(zt), alone.probabilities(zt), dec.probabilities(zt)
    row = {"dataset": name, "T": dec.temperature, "train_s": train_s, "n": len(yt),
           "acc_before": float((before.argmax(1) == yt).mean()),
           "acc_after": float((after.argmax(1) == yt).mean()),
           **{f"{k}_before": v for k, v in calibration_figures(before, yt).items()},
           **{f"{k}_temperature": v for k, v in calibration_figures(t_only, yt).items()},
           **{f"{k}_after": v for k, v in calibration_figures(after, yt).items()}}
    # the ECE a perfectly calibrated model with these confidences would show on this many texts
    # (the estimator's noise floor): labels drawn right with probability = confidence
    conf = after.max(1)
    rng = np.random.default_rng(0)
    row["ece_floor"] = float(np.mean([expected_calibration_error(
        np.stack([1 - conf, conf], 1), (rng.uniform(size=conf.size) < conf).astype(int))
        for _ in range(50)]))
    for cov in (0.9, 0.95):  # the run's sets: its threshold (bcts: cross-fitted scores)
        figs = set_figures(after >= dec.set_threshold(cov), yt)
        row[f"cov{cov:g}"] = figs["coverage"]
        row[f"size{cov:g}"] = figs["mean_size"]
    return row, predictor


def accuracy_rows(datasets: list[str], seeds: int, sizes: list[int]) -> list[dict]:
    """Test accuracy of the defaults from the raw logits and from the run's calibrated
    probabilities (bcts), per set, size (0: the whole training split) and seed."""
    from sklearn.model_selection import train_test_split

    rows = []
    for ds in datasets:
        for _, full in accuracy_splits(ds, folds=1):
            for size in sizes:
                if size and size >= len(full.train):
                    continue
                for seed in range(seeds):
                    splits = full
                    if size:
                        rows_, _ = train_test_split(np.arange(len(full.train)), train_size=size,
                                                    random_state=seed, stratify=full.train.labels)
                        part = full.train.subset(np.sort(rows_))
                        train, val, _ = _carve(part, 0.15, 0.0, seed)
                        splits = Splits(train, val, full.test, full.class_order)
                    predictor, _ = train_default(splits, seed)
                    zt, _, _, kt = outputs(predictor, splits.test.texts)
                    yt = classes_of(predictor, splits.test.labels, kt)
                    rows.append({"dataset": ds, "size": size or len(full.train), "seed": seed,
                                 "validation": len(splits.validation),
                                 "raw": float((zt.argmax(1) == yt).mean()),
                                 "bcts": float((predictor.decisions.probabilities(zt).argmax(1)
                                                == yt).mean())})
                    r = rows[-1]
                    print(f"# {ds}@{r['size']} seed {seed}: {100 * r['raw']:.2f} -> "
                          f"{100 * r['bcts']:.2f}", file=sys.stderr, flush=True)
    return rows


def accuracy_table(rows: list[dict]) -> str:
    out = ("| dataset | training texts (validation) | seeds | accuracy %: temperature alone (the "
           "model's arg-max) | bcts (the default) | bcts − temperature |\n"
           "|---|---|---:|---:|---:|---:|\n")
    keys = sorted({(r["dataset"], r["size"]) for r in rows},
                  key=lambda k: ([r["dataset"] for r in rows].index(k[0]), k[1]))
    for ds, size in keys:
        got = [r for r in rows if (r["dataset"], r["size"]) == (ds, size)]
        raw, bcts = (100 * np.mean([r[k] for r in got]) for k in ("raw", "bcts"))
        val = sorted({r["validation"] for r in got})
        out += (f"| {ds} | {size:,} ({'/'.join(map(str, val))}) | {len(got)} | {raw:.2f} | "
                f"{bcts:.2f} | {bcts - raw:+.2f} |\n")
    return out


def ood_texts(name: str, limit: int = 3000) -> list[str]:
    from embedlab.data import load_dataset

    if name == "goemotions":
        import os
        mirror = Path(os.environ.get("EMBEDLAB_DATA_MIRROR", HERE.parent.parent / "shared" / "data"))
        lines = (mirror / "goemotions" / "test.tsv").read_text(encoding="utf-8").splitlines()
        return [line.split("\t")[0] for line in lines][:limit]
    return load_dataset(name, "test").texts[:limit]


def ood_rows(name: str, splits, predictor) -> list[dict]:
    zv, knv, lv, kv = outputs(predictor, splits.validation.texts)
    dec = fit_decisions(zv, classes_of(predictor, splits.validation.labels, kv), knv, lv)
    zi, ki, li, _ = outputs(predictor, splits.test.texts)
    s_in = dec.ood_scores(zi, ki, li)[0]
    e_in = energy(dec.adjust(zi), dec.temperature)
    flagged = float(dec.ood_scores(zi, ki, li)[1].mean())
    rows = []
    for other in OOD_SETS:
        if other == name:
            continue
        zo, ko, lo, _ = outputs(predictor, ood_texts(other))
        y = np.r_[np.zeros(len(s_in)), np.ones(len(zo))]
        s_out, f_out = dec.ood_scores(zo, ko, lo)
        rows.append({"in": name, "out": other,
                     "auroc": float(roc_auc_score(y, np.r_[s_in, s_out])),
                     "auroc_energy": float(roc_auc_score(
                         y, np.r_[e_in, energy(dec.adjust(zo), dec.temperature)])),
                     "flag_in": flagged, "flag_out": float(f_out.mean())})
    return rows


def calibration_table(rows: list[dict]) -> str:
    out = ("| dataset | test texts | T | accuracy before → after | ECE before → temperature "
           "alone → bcts | ECE floor | Brier before → bcts | log loss before → temperature alone "
           "→ bcts | 90 % sets: coverage, mean size | 95 % sets: coverage, mean size |\n"
           "|---|---:|---:|---|---|---:|---|---|---|---|\n")
    for r in rows:
        out += (f"| {r['dataset']} | {r['n']:,} | {r['T']:.2f} | {100 * r['acc_before']:.1f} → "
                f"{100 * r['acc_after']:.1f} | {r['ece_before']:.3f} → {r['ece_temperature']:.3f} "
                f"→ **{r['ece_after']:.3f}** | {r['ece_floor']:.3f} | {r['brier_before']:.3f} → "
                f"{r['brier_after']:.3f} | {r['log_loss_before']:.3f} → "
                f"{r['log_loss_temperature']:.3f} → {r['log_loss_after']:.3f} | "
                f"{100 * r['cov0.9']:.1f} %, {r['size0.9']:.2f} | {100 * r['cov0.95']:.1f} %, "
                f"{r['size0.95']:.2f} |\n")
    return out


def ood_table(rows: list[dict]) -> str:
    out = ("| trained on | scored against | AUROC (detector) | AUROC (energy alone) | "
           "in-distribution test flagged | out-of-distribution flagged |\n|---|---|---:|---:|---:|---:|\n")
    for r in rows:
        out += (f"| {r['in']} | {r['out']} | {r['auroc']:.3f} | {r['auroc_energy']:.3f} | "
                f"{100 * r['flag_in']:.1f} % | {100 * r['flag_out']:.1f} % |\n")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", nargs="+", default=ACCURACY_DATASETS)
    ap.add_argument("--no-ood", action="store_true")
    ap.add_argument("--accuracy", action="store_true",
                    help="what bcts does to accuracy, per set, size and seed (no calibration table)")
    ap.add_argument("--seeds", type=int, default=3, help="--accuracy: seeds per set and size")
    ap.add_argument("--sizes", type=int, nargs="+", default=[0, 300, 1000],
                    help="--accuracy: training-set sizes (0: the whole training split)")
    args = ap.parse_args(argv)
    print(f"Machine: {machine()}\n")
    if args.accuracy:
        print(accuracy_table(accuracy_rows(args.datasets, args.seeds, args.sizes)))
        return
    rows, ood = [], []
    for ds in args.datasets:
        for name, splits in accuracy_splits(ds, folds=1):
            row, predictor = calibration_row(name, splits)
            rows.append(row)
            print(calibration_table([row]).splitlines()[-1], flush=True)
            if not args.no_ood and ds in OOD_SETS:
                ood += ood_rows(ds, splits, predictor)
    print("\n" + calibration_table(rows))
    if ood:
        print(ood_table(ood))


if __name__ == "__main__":
    main()
