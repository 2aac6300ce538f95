"""Multi-label and hierarchical benchmarks (issue 20): GoEmotions and TREC fine / coarse.

GoEmotions (``--suite goemotions``), the official train / dev / test split.

Ours with its defaults (``embedlab train --dataset goemotions``: thresholds chosen on dev by
micro-F1, one global or one per label, whichever scores higher there), with
``--threshold-metric macro_f1`` and with ``--model cnn``, beside the peers users have, each trained on the same train
split with one global threshold tuned on dev (once for macro-F1, once for micro-F1):

- TF-IDF (word 1-2 grams, sublinear tf) + one-vs-rest LinearSVC (threshold on the decision value);
- TF-IDF (same) + one-vs-rest LogisticRegression;
- fastText ``-loss ova`` (lr 0.5, 25 epochs, word bigrams, the ``fasttext`` module).

Every model answers at least its most probable label (every GoEmotions row carries one), as
ours does. Scores are on the official test split. "train s" is the wall time of fitting
(ours: preprocessing, vocabulary, encoding, training and the threshold choice; peers: the
vectorizer and the fit). Run::

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/multilabel.py [--no-write]

and the table goes into ``benchmarks/RESULTS.md``.

TREC (``--suite trec``): ``--label-hierarchy ":"`` on the 50 fine labels (``LOC:city`` is the
path LOC → city; 6 coarse + 50 fine labels, one sigmoid each; validation carved from train by
iterative stratification), scored on the official 500 test questions: the accuracy of the most
probable coarse label and of the most probable fine label, against TF-IDF (1-2 grams) +
LinearSVC trained on the fine labels (its coarse answer: the parent of its fine answer) and on
the coarse labels.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
GOAL = {"macro": 0.48, "micro": 0.57, "time_ratio": 3.0}


def decide(scores: np.ndarray, t: float) -> np.ndarray:
    """Labels at or over ``t``, and always the top one."""
    pred = scores >= t
    pred[np.arange(len(scores)), scores.argmax(1)] = True
    return pred


def tune(y_dev: np.ndarray, s_dev: np.ndarray, grid: np.ndarray, average: str) -> float:
    scores = [f1_score(y_dev, decide(s_dev, t), average=average, zero_division=0) for t in grid]
    return float(grid[int(np.argmax(scores))])


def scored(name: str, seconds: float, y_dev, s_dev, y_test, s_test, grid) -> list[dict]:
    rows = []
    for target in ("macro", "micro"):
        t = tune(y_dev, s_dev, grid, target)
        pred = decide(s_test, t)
        rows.append({"model": f"{name}, threshold tuned for {target}-F1", "threshold": t,
                     "macro": f1_score(y_test, pred, average="macro", zero_division=0),
                     "micro": f1_score(y_test, pred, average="micro", zero_division=0),
                     "seconds": seconds})
    return rows


def load_splits():
    from embedlab.data import load_dataset
    from embedlab.data.builtin import dataset_info

    classes = dataset_info("goemotions").classes
    out = {}
    for split in ("train", "validation", "test"):
        ds = load_dataset("goemotions", split)
        y = np.zeros((len(ds), len(classes)), dtype=bool)
        for i, labels in enumerate(ds.label_sets or []):
            y[i, [classes.index(c) for c in labels]] = True
        out[split] = (ds.texts, y)
    return classes, out


def run_ours(extra: dict | None = None) -> dict:
    """Ours with the defaults, or with dotted-key overrides ``extra``."""
    import embedlab
    from embedlab.config import RunConfig

    cfg = RunConfig.from_dict({"data": {"dataset": "goemotions"},
                               "training": {"progress": False}}).override(extra or {})
    t0 = time.perf_counter()
    result = embedlab.train(cfg)
    seconds = time.perf_counter() - t0 - result.metrics["test"]["predict_seconds"] \
        - result.metrics["validation"]["predict_seconds"]
    test = result.metrics["test"]
    th = test["thresholds"]
    name = "embedlab defaults" if not extra else "embedlab, " + ", ".join(
        f"{k}={v}" for k, v in extra.items())
    return {"model": f"{name} (thresholds: {th['use']}, by {th['metric']})",
            "threshold": th["global"] if th["use"] == "global" else float("nan"),
            "macro": test["macro"]["f1"], "micro": test["micro"]["f1"], "seconds": seconds}


def run_tfidf(data, estimator, name: str) -> list[dict]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier

    (x_tr, y_tr), (x_dev, y_dev), (x_te, y_te) = data["train"], data["validation"], data["test"]
    t0 = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    clf = OneVsRestClassifier(estimator).fit(vec.fit_transform(x_tr), y_tr)
    seconds = time.perf_counter() - t0
    if hasattr(clf, "predict_proba") and not name.startswith("TF-IDF 1-2g + OvR LinearSVC"):
        s_dev, s_te = clf.predict_proba(vec.transform(x_dev)), clf.predict_proba(vec.transform(x_te))
        grid = np.round(np.arange(0.02, 0.981, 0.01), 2)
    else:
        s_dev = clf.decision_function(vec.transform(x_dev))
        s_te = clf.decision_function(vec.transform(x_te))
        grid = np.round(np.arange(-1.0, 1.001, 0.02), 2)
    return scored(name, seconds, y_dev, s_dev, y_te, s_te, grid)


def run_fasttext(classes, data) -> list[dict]:
    import fasttext

    (x_tr, y_tr), (x_dev, y_dev), (x_te, y_te) = data["train"], data["validation"], data["test"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        with open(path, "w", encoding="utf-8") as f:
            for text, row in zip(x_tr, y_tr, strict=True):
                labels = " ".join(f"__label__{classes[j]}" for j in np.flatnonzero(row))
                f.write(f"{labels} {' '.join(text.split())}\n")
        t0 = time.perf_counter()
        model = fasttext.train_supervised(str(path), loss="ova", lr=0.5, epoch=25, wordNgrams=2,
                                          thread=os.cpu_count() or 2, verbose=0, seed=0)
        seconds = time.perf_counter() - t0

    def scores(texts):
        out = np.zeros((len(texts), len(classes)), dtype=np.float32)
        for i, text in enumerate(texts):
            labels, probs = model.predict(" ".join(text.split()), k=-1, threshold=0.0)
            for lab, p in zip(labels, probs, strict=True):
                out[i, classes.index(lab.removeprefix("__label__"))] = p
        return out

    grid = np.round(np.arange(0.02, 0.981, 0.01), 2)
    return scored("fastText -loss ova (lr 0.5, 25 epochs, bigrams)", seconds, y_dev,
                  scores(x_dev), y_te, scores(x_te), grid)


TREC = Path(os.environ.get("EMBEDLAB_DATA_MIRROR", "../shared/data")) / "trec"


def trec_rows() -> list[dict]:
    import embedlab
    from embedlab.config import RunConfig
    from embedlab.data import load_label_lines

    train = load_label_lines(TREC / "TREC.train", encoding="latin-1")
    test = load_label_lines(TREC / "TREC.test", encoding="latin-1")
    cfg = RunConfig.from_dict({"data": {"path": str(TREC / "TREC.train"),
                                        "test_path": str(TREC / "TREC.test"),
                                        "encoding": "latin-1", "label_hierarchy": ":"},
                               "training": {"progress": False}})
    t0 = time.perf_counter()
    result = embedlab.train(cfg)
    seconds = time.perf_counter() - t0 - result.metrics["test"]["predict_seconds"] - \
        result.metrics["validation"]["predict_seconds"]
    p = result.predictor
    probs = p.predict_proba(test.texts)
    classes = np.asarray(p.classes)
    coarse = np.flatnonzero([":" not in c for c in classes])
    fine = np.flatnonzero([":" in c for c in classes])
    top_coarse = classes[coarse[probs[:, coarse].argmax(1)]]
    top_fine = classes[fine[probs[:, fine].argmax(1)]]
    sets = p.predict_label_sets(test.texts)
    true_coarse = np.asarray([lab.split(":")[0] for lab in test.labels])
    true_fine = np.asarray(test.labels)
    rows = [{"model": "embedlab defaults, --label-hierarchy ':'",
             "fine": float((top_fine == true_fine).mean()),
             "coarse": float((top_coarse == true_coarse).mean()),
             "consistent": float(np.mean([f.split(":")[0] == c for f, c in
                                          zip(top_fine, top_coarse, strict=True)])),
             "orphans": sum(any(":" in lab and lab.split(":")[0] not in s for lab in s)
                            for s in sets),
             "seconds": seconds}]
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    for target in ("fine", "coarse"):
        y = [lab if target == "fine" else lab.split(":")[0] for lab in train.labels]
        t0 = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        clf = LinearSVC().fit(vec.fit_transform(train.texts), y)
        took = time.perf_counter() - t0
        pred = clf.predict(vec.transform(test.texts))
        pred_coarse = np.asarray([lab.split(":")[0] for lab in pred])
        rows.append({"model": f"TF-IDF 1-2g + LinearSVC on {target} labels",
                     "fine": float((pred == true_fine).mean()) if target == "fine" else
                     float("nan"),
                     "coarse": float((pred_coarse == true_coarse).mean()),
                     "consistent": float("nan"), "orphans": 0, "seconds": took})
    return rows


def trec_table(rows: list[dict]) -> str:
    def num(v: float) -> str:
        return "-" if np.isnan(v) else f"{v:.4f}"

    lines = ["| model | fine accuracy | coarse accuracy | top fine under top coarse | "
             "predicted sets with a child but not its parent | train s |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {num(r['fine'])} | {num(r['coarse'])} | "
                     f"{num(r['consistent'])} | {r['orphans']} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    lines = ["| model | macro-F1 | micro-F1 | global threshold | train s |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        t = "-" if np.isnan(r["threshold"]) else f"{r['threshold']:.2f}"
        lines.append(f"| {r['model']} | {r['macro']:.4f} | {r['micro']:.4f} | {t} | "
                     f"{r['seconds']:.1f} |")
    return "\n".join(lines)


def verdict(rows: list[dict]) -> str:
    ours = rows[0]
    fast = [r for r in rows if r["model"].startswith("fastText")][0]
    ratio = ours["seconds"] / max(fast["seconds"], 1e-9)
    met = lambda ok: "met" if ok else "not met"  # noqa: E731
    return (f"Goal (defaults): macro-F1 ≥ {GOAL['macro']} — {ours['macro']:.4f}, "
            f"{met(ours['macro'] >= GOAL['macro'])}; micro-F1 ≥ {GOAL['micro']} — "
            f"{ours['micro']:.4f}, {met(ours['micro'] >= GOAL['micro'])}; training time ≤ "
            f"{GOAL['time_ratio']:.0f}× fastText's — {ours['seconds']:.1f} s / "
            f"{fast['seconds']:.1f} s = {ratio:.2f}×, {met(ratio <= GOAL['time_ratio'])}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    parser.add_argument("--suite", choices=["goemotions", "trec", "all"], default="all")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.suite in ("trec", "all"):
        trec = trec_table(trec_rows())
        print(trec)
        if not args.no_write:
            with open(RESULTS, "a", encoding="utf-8") as f:
                f.write(f"\n## Hierarchical labels: TREC fine / coarse (issue 20) — "
                        f"{date.today().isoformat()}\n\nMachine: {describe()}\n\nCommand: "
                        "`python benchmarks/multilabel.py --suite trec`; official 5,452 train / "
                        "500 test; ours carves its validation split from train.\n\n"
                        + trec + "\n")
    if args.suite == "trec":
        return
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    classes, data = load_splits()
    rows = [run_ours(), run_ours({"training.threshold_metric": "macro_f1"}),
            run_ours({"model.name": "cnn"})]
    rows += run_tfidf(data, LinearSVC(C=0.5), "TF-IDF 1-2g + OvR LinearSVC")
    rows += run_tfidf(data, LogisticRegression(C=10.0, max_iter=1000, solver="liblinear"),
                      "TF-IDF 1-2g + OvR LogisticRegression")
    rows += run_fasttext(classes, data)
    text = table(rows)
    summary = verdict(rows)
    print(text)
    print(summary)
    if args.no_write:
        return
    section = (f"\n## Multi-label: GoEmotions (issue 20) — {date.today().isoformat()}\n\n"
               f"Machine: {describe()}\n\nCommand: `python benchmarks/multilabel.py`; official "
               "train 43,410 / dev 5,426 / test 5,427; scores on test, thresholds on dev; every "
               "model answers at least its top label.\n\n" + text + "\n\n" + summary + "\n")
    with open(RESULTS, "a", encoding="utf-8") as f:
        f.write(section)


if __name__ == "__main__":
    main()
