"""Classification benchmark: every model family against fastText and TF-IDF + LinearSVC.

Usage::

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/classify.py            # models suite
    python benchmarks/classify.py --suite embeddings                              # random vs GloVe
    python benchmarks/classify.py --datasets trec --models cnn fasttext --no-write

Each dataset is split the way ``embedlab train`` splits it (official test kept, validation carved
from train); the baselines train on the same training split and are scored on the same test
split. Times are wall-clock on this machine; "train s" covers preprocessing, vocabulary,
encoding and training (what fastText's own timing covers). Prints a Markdown table and, unless
``--no-write``, writes it with the machine description to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

from embedlab.config import RunConfig
from embedlab.text import Preprocessor
from embedlab.training.run import evaluate, fit, load_splits

HERE = Path(__file__).resolve().parent

# model families with their default hyper-parameters (random embeddings)
MODEL_SUITE = {
    "cnn": {"model": {"name": "cnn"}},
    "bag (mean)": {"model": {"name": "bag", "params": {"pooling": "mean"}}},
    "rnn (gru+attention)": {"model": {"name": "rnn"}},
    "fasttext": {"model": {"name": "fasttext"}},
}
EMBEDDING_SUITE = {
    "cnn random": {"model": {"name": "cnn"}},
    "cnn glove-50d frozen": {"model": {"name": "cnn"}, "embeddings": {"source": "glove-6b-50d", "freeze": True}},
    "cnn glove-50d fine-tuned": {"model": {"name": "cnn"},
                                 "embeddings": {"source": "glove-6b-50d", "freeze": False}},
    "bag mean random": {"model": {"name": "bag", "params": {"pooling": "mean"}}},
    "bag mean glove-50d fine-tuned": {"model": {"name": "bag", "params": {"pooling": "mean"}},
                                      "embeddings": {"source": "glove-6b-50d", "freeze": False}},
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}")


def run_ours(name: str, overrides: dict, dataset: str, splits) -> dict:
    cfg = RunConfig.from_dict({**overrides, "data": {"dataset": dataset},
                               "training": {"progress": False, **overrides.get("training", {})}})
    t0 = time.perf_counter()
    res = fit(cfg, splits.train, splits.validation, splits.class_order)
    train_s = time.perf_counter() - t0
    loop_s = sum(h["seconds"] for h in res.history)
    samples = sum(h["samples_per_s"] * h["seconds"] for h in res.history)
    res.predictor.predict_proba(splits.test.texts[:256])  # warm-up
    m = evaluate(res.predictor, splits.test)
    return {"dataset": dataset, "model": name, "accuracy": m["accuracy"], "f1": m["weighted"]["f1"],
            "train_s": train_s, "train_sps": samples / max(loop_s, 1e-9), "predict_tps": m["texts_per_s"],
            "epochs": f"{len(res.history)} ({res.best_epoch})"}


def _fasttext_file(texts, labels, pre: Preprocessor, path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for t, y in zip(texts, labels):
            f.write(f"__label__{y.replace(' ', '_')} {pre(t)}\n")


def run_fasttext(dataset: str, splits, pretrained: Path | None = None, dim: int = 100, epoch: int = 5) -> dict:
    import fasttext

    pre = Preprocessor()
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        t0 = time.perf_counter()
        _fasttext_file(splits.train.texts, splits.train.labels, pre, train_file)
        kw = {"pretrainedVectors": str(pretrained), "dim": dim} if pretrained else {"dim": dim}
        model = fasttext.train_supervised(str(train_file), wordNgrams=2, thread=os.cpu_count() or 2,
                                          verbose=0, seed=0, epoch=epoch, **kw)
        train_s = time.perf_counter() - t0
    texts = [pre(t) for t in splits.test.texts]
    t0 = time.perf_counter()
    pred = [lab[0][len("__label__"):].replace("_", " ") for lab in model.predict(texts)[0]]
    pred_s = time.perf_counter() - t0
    name = f"fastText (bigrams, {epoch} epochs" + (", GloVe 50d init)" if pretrained else ")")
    y = splits.test.labels
    return {"dataset": dataset, "model": name, "accuracy": accuracy_score(y, pred),
            "f1": f1_score(y, pred, average="weighted"), "train_s": train_s, "train_sps": float("nan"),
            "predict_tps": len(texts) / pred_s, "epochs": str(epoch)}


def run_tfidf_svm(dataset: str, splits) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    pre = Preprocessor()
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, preprocessor=pre,
                                         token_pattern=r"\S+"), LinearSVC())
    t0 = time.perf_counter()
    pipe.fit(splits.train.texts, splits.train.labels)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = pipe.predict(splits.test.texts)
    pred_s = time.perf_counter() - t0
    y = splits.test.labels
    return {"dataset": dataset, "model": "TF-IDF 1-2g + LinearSVC", "accuracy": accuracy_score(y, pred),
            "f1": f1_score(y, pred, average="weighted"), "train_s": train_s, "train_sps": float("nan"),
            "predict_tps": len(y) / pred_s, "epochs": "-"}


def glove_vec_file(tmp: Path) -> Path:
    """GloVe 6B 50d as a word2vec-text .vec file for fastText's -pretrainedVectors."""
    from embedlab.embeddings import load

    path = tmp / "glove50.vec"
    if not path.exists():
        load("glove-6b-50d").export(path, format="word2vec-text")
    return path


def table(rows: list[dict]) -> str:
    head = ("| dataset | model | accuracy | weighted F1 | train s | train samples/s | predict texts/s | "
            "epochs (best) |\n|---|---|---:|---:|---:|---:|---:|---|\n")
    def fmt(v: float, f: str) -> str:
        return "-" if np.isnan(v) else format(v, f)

    return head + "".join(
        f"| {r['dataset']} | {r['model']} | {r['accuracy']:.4f} | {r['f1']:.4f} | {r['train_s']:.1f} | "
        f"{fmt(r['train_sps'], ',.0f')} | {fmt(r['predict_tps'], ',.0f')} | {r['epochs']} |\n" for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=["models", "embeddings"], default="models")
    ap.add_argument("--datasets", nargs="+", default=None)
    ap.add_argument("--models", nargs="+", default=None, help="subset of the suite's rows (by prefix)")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    suite = MODEL_SUITE if args.suite == "models" else EMBEDDING_SUITE
    datasets = args.datasets or (["ag_news", "trec", "sst2"] if args.suite == "models" else ["ag_news", "trec"])
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for ds in datasets:
            splits = load_splits(RunConfig.from_dict({"data": {"dataset": ds}}))
            print(f"# {ds}: train {len(splits.train)}, validation {len(splits.validation or [])}, "
                  f"test {len(splits.test)}", file=sys.stderr)
            for name, overrides in suite.items():
                if args.models and not any(name.startswith(m) for m in args.models):
                    continue
                rows.append(run_ours(name, overrides, ds, splits))
                print(table(rows[-1:]).splitlines()[-1], file=sys.stderr)
            if not args.no_baselines:
                n = len(rows)
                # fastText's defaults (5 epochs) and the 25 epochs its tutorial recommends
                rows.append(run_fasttext(ds, splits, dim=100))
                rows.append(run_fasttext(ds, splits, dim=100, epoch=25))
                if args.suite == "embeddings":
                    rows.append(run_fasttext(ds, splits, pretrained=glove_vec_file(Path(tmp)), dim=50, epoch=25))
                rows.append(run_tfidf_svm(ds, splits))
                for line in table(rows[n:]).splitlines()[2:]:
                    print(line, file=sys.stderr)
    text = table(rows)
    print(text)
    if not args.no_write:
        out = HERE / "RESULTS.md"
        section = (f"## {args.suite} suite — {time.strftime('%Y-%m-%d')}\n\nMachine: {machine()}\n\n"
                   f"Command: `python benchmarks/classify.py {' '.join(argv or sys.argv[1:])}`\n\n{text}\n")
        old = out.read_text() if out.exists() else "# Benchmark results\n\n"
        marker = f"## {args.suite} suite"
        if marker in old:  # replace this suite's previous section
            start = old.index(marker)
            end = old.find("\n## ", start + 1)
            old = old[:start] + old[end + 1:] if end != -1 else old[:start]
        out.write_text(old.rstrip() + "\n\n" + section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
