"""Decisions you can trust (issue 21): calibration, conformal sets and out-of-distribution
flags of the default model, measured on the accuracy suite's splits.

For every data set: the defaults are trained on its training split (validation for early
stopping, as ``embedlab train``); a temperature is fitted on the validation split; on the test
split we report accuracy, ECE / Brier / log loss before and after, and the coverage and mean size
of split-conformal sets at 90 % and 95 % calibrated on validation. The OOD table trains on one
set and scores its test texts against the test texts of the others (AUROC of the detector's
score; the share of in-distribution test texts flagged).

    python benchmarks/decisions.py                      # every set, prints the tables
    python benchmarks/decisions.py --datasets trec sst2 --no-ood
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
    fit_temperature,
    softmax_at,
)
from embedlab.decisions.conformal import ConformalSets, set_figures  # noqa: E402
from embedlab.decisions.ood import OodDetector, energy  # noqa: E402
from embedlab.training.run import fit  # noqa: E402

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
    zv, _, _, kv = outputs(predictor, splits.validation.texts)
    yv = classes_of(predictor, splits.validation.labels, kv)
    zt, _, _, kt = outputs(predictor, splits.test.texts)
    yt = classes_of(predictor, splits.test.labels, kt)
    t = fit_temperature(zv, yv)
    before, after = softmax_at(zt), softmax_at(zt, t)
    row = {"dataset": name, "T": t, "train_s": train_s, "n": len(yt),
           "acc_before": float((before.argmax(1) == yt).mean()),
           "acc_after": float((after.argmax(1) == yt).mean()),
           **{f"{k}_before": v for k, v in calibration_figures(before, yt).items()},
           **{f"{k}_after": v for k, v in calibration_figures(after, yt).items()}}
    # the ECE a perfectly calibrated model with these confidences would show on this many texts
    # (the estimator's noise floor): labels drawn right with probability = confidence
    conf = after.max(1)
    rng = np.random.default_rng(0)
    row["ece_floor"] = float(np.mean([expected_calibration_error(
        np.stack([1 - conf, conf], 1), (rng.uniform(size=conf.size) < conf).astype(int))
        for _ in range(50)]))
    for cov in (0.9, 0.95):
        sets = ConformalSets.fit(softmax_at(zv, t), yv, cov)
        figs = set_figures(sets.sets(after), yt)
        row[f"cov{cov:g}"] = figs["coverage"]
        row[f"size{cov:g}"] = figs["mean_size"]
    return row, predictor


def ood_texts(name: str, limit: int = 3000) -> list[str]:
    from embedlab.data import load_dataset

    if name == "goemotions":
        import os
        mirror = Path(os.environ.get("EMBEDLAB_DATA_MIRROR", HERE.parent.parent / "shared" / "data"))
        lines = (mirror / "goemotions" / "test.tsv").read_text(encoding="utf-8").splitlines()
        return [line.split("\t")[0] for line in lines][:limit]
    return load_dataset(name, "test").texts[:limit]


def ood_rows(name: str, splits, predictor) -> list[dict]:
    zv, knv, lv, _ = outputs(predictor, splits.validation.texts)
    t = fit_temperature(zv, classes_of(predictor, splits.validation.labels,
                                       np.flatnonzero(predictor.encode_arrays(
                                           splits.validation.texts).lengths > 0)))
    det = OodDetector.fit(zv, knv, lv, temperature=t)
    zi, ki, li, _ = outputs(predictor, splits.test.texts)
    s_in = det.score(zi, ki, li)
    e_in = energy(zi, t)
    flagged = float(det.flags(zi, ki, li).mean())
    rows = []
    for other in OOD_SETS:
        if other == name:
            continue
        zo, ko, lo, _ = outputs(predictor, ood_texts(other))
        y = np.r_[np.zeros(len(s_in)), np.ones(len(zo))]
        rows.append({"in": name, "out": other,
                     "auroc": float(roc_auc_score(y, np.r_[s_in, det.score(zo, ko, lo)])),
                     "auroc_energy": float(roc_auc_score(y, np.r_[e_in, energy(zo, t)])),
                     "flag_in": flagged, "flag_out": float(det.flags(zo, ko, lo).mean())})
    return rows


def calibration_table(rows: list[dict]) -> str:
    out = ("| dataset | test texts | T | accuracy before → after | ECE before → after | ECE floor | "
           "Brier before → after | log loss before → after | 90 % sets: coverage, mean size | "
           "95 % sets: coverage, mean size |\n|---|---:|---:|---|---|---:|---|---|---|---|\n")
    for r in rows:
        out += (f"| {r['dataset']} | {r['n']:,} | {r['T']:.2f} | {100 * r['acc_before']:.1f} → "
                f"{100 * r['acc_after']:.1f} | {r['ece_before']:.3f} → **{r['ece_after']:.3f}** | "
                f"{r['ece_floor']:.3f} | {r['brier_before']:.3f} → "
                f"{r['brier_after']:.3f} | {r['log_loss_before']:.3f} → {r['log_loss_after']:.3f} | "
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
    args = ap.parse_args(argv)
    print(f"Machine: {machine()}\n")
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
