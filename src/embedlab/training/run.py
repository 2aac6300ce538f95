"""The whole loop: data → splits → preprocessing → vocabulary → embeddings → model → training →
evaluation → a run directory. The CLI's ``train`` and :class:`embedlab.TextClassifier` both call it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedlab.config import DEFAULT_RANDOM_DIM, RunConfig, resolve_config
from embedlab.data import (
    TextDataset,
    dataset_info,
    holdout_note,
    load_data,
    load_dataset,
    multilabel_split,
    stratified_split,
)
from embedlab.errors import ConfigError, DataError
from embedlab.inference.encoding import INFERENCE_BATCH, EncodedArrays
from embedlab.inference.forward import EncodedTexts
from embedlab.inference.prediction import TextPredictor, Thresholds
from embedlab.inference.predictor import Predictor
from embedlab.models import (
    EmbeddingSpec,
    build_model,
)
from embedlab.text import LabelEncoder, Preprocessor, Vocabulary
from embedlab.training.device import resolve_device
from embedlab.training.distributed import is_main_process, process_group
from embedlab.training.metrics import classification_metrics, level_metrics, multilabel_metrics
from embedlab.training.seed import seeded
from embedlab.training.trainer import EpochCallback, Trainer

log = logging.getLogger("embedlab")


@dataclass
class Splits:
    train: TextDataset
    validation: TextDataset | None
    test: TextDataset | None
    class_order: list[str] | None = None


@dataclass
class FitResult:
    predictor: Predictor
    history: list[dict]
    best_epoch: int | None
    train_seconds: float
    coverage: dict | None = None


@dataclass
class RunResult:
    predictor: Predictor
    metrics: dict
    history: list[dict]
    out: Path | None


def _carve(ds: TextDataset, val_size: float, test_size: float, seed: int):
    if ds.label_sets is not None:  # iterative stratification: rare labels in every part
        tr, va, te = multilabel_split(ds.label_sets, val_size=val_size, test_size=test_size,
                                      seed=seed)
    else:
        tr, va, te = stratified_split(ds.labels, val_size=val_size, test_size=test_size,
                                      seed=seed)
    return ds.subset(tr), (ds.subset(va) if len(va) else None), (ds.subset(te) if len(te) else None)


def load_splits(config: RunConfig) -> Splits:
    """Train / validation / test per the data set's protocol: official splits are kept, a missing
    validation split is carved (stratified) from train, a missing test split likewise."""
    d, seed = config.data, config.training.seed
    if d.dataset:
        info = dataset_info(d.dataset)
        splits = set(info.splits)
        train = load_dataset(d.dataset, "train")
        if d.splits == "carve":  # the train split alone, as a tutorial that splits train.csv
            splits = {"train"}
            note = (f"validation and test carved from the train split ({d.val_size:.0%} / "
                    f"{d.test_size:.0%}, stratified, by the run's seed); official splits not used")
            log.info("%s: %s", d.dataset, note)
            train.notes.append(note)
        test = load_dataset(d.dataset, "test") if "test" in splits else None
        val = load_dataset(d.dataset, "validation") if "validation" in splits else None
        order = list(info.classes)
        holdout = holdout_note(d.dataset, d.val_size, d.test_size, seed)
        if holdout:
            log.warning(holdout)
            train.notes.append(holdout)
    elif d.path:
        def read(path: str, multilabel: bool | None = d.multilabel) -> TextDataset:
            return load_data(path, text_columns=d.text_columns, label_column=d.label_column,
                             format=d.format, encoding=d.encoding, empty=d.empty, pattern=d.pattern,
                             label_sep=d.label_sep, multilabel=multilabel,
                             label_hierarchy=d.label_hierarchy, label_names=d.label_names)

        if d.test_path and Path(d.test_path).resolve() == Path(d.path).resolve():
            raise ConfigError(f"{d.test_path}: the test file is the training file, so its scores "
                              "would say nothing of unseen text; give another file or leave "
                              "--test-data out (a test split is then held out)")
        train = read(d.path)
        # a test file whose rows happen to carry one label each is still multi-label data
        test = read(d.test_path, train.multilabel or d.multilabel) if d.test_path else None
        val, order = None, None
    else:
        raise DataError("no data given: set data.dataset (--dataset) or data.path (--data)")
    if d.limit:
        train = train.subset(np.arange(min(d.limit, len(train))))
    if val is None:
        train, val, carved_test = _carve(train, d.val_size, 0.0 if test is not None else d.test_size, seed)
        test = test if test is not None else carved_test
        if val is None and test is None and (d.val_size or d.test_size):
            raise DataError(_no_held_out(train))
    return Splits(train, val, test, order)


def _no_held_out(train: TextDataset) -> str:
    """Why no validation or test split could be carved, and the ways out."""
    counts = train.class_counts()
    small = sum(1 for c in counts.values() if c < 3)
    return (f"{train.source}: no validation or test split can be held out: {small:,} of "
            f"{len(counts):,} classes have fewer than 3 examples; add examples, give a test file "
            "(--test-data), or train on everything without scores "
            "(--set data.val_size=0 --set data.test_size=0)")


def build_embedding_spec(config: RunConfig, vocab: Vocabulary) -> tuple[EmbeddingSpec, dict | None]:
    """Random embeddings, or a matrix built from pretrained vectors for this vocabulary."""
    e = config.embeddings
    if not e.source:
        return EmbeddingSpec(dim=e.dim or DEFAULT_RANDOM_DIM), None
    from embedlab.embeddings import build_embedding_matrix
    from embedlab.embeddings import load as load_vectors

    # only the vocabulary's rows are needed (and their lower-case forms), unless unknown words
    # take random rows at the scale of all the vectors: a packaged source then indexes these
    # words, not its 400,000
    needed = None
    if e.oov in ("auto", "zeros"):
        needed = set(vocab.itos)
        if e.lowercase_fallback:
            needed.update(w.lower() for w in vocab.itos)
    vectors = load_vectors(e.source, limit=e.limit, words=needed)
    # auto: zeros for words the vectors lack (random rows at the vectors' own scale are as loud
    # as real words in a mean and cost points in the accuracy suite of benchmarks/classify.py)
    oov = e.oov if e.oov != "auto" else ("subword" if vectors.has_subwords else "zeros")
    matrix, report = build_embedding_matrix(
        vectors, vocab.itos, counts=vocab.token_counts(), oov=oov,
        lowercase_fallback=e.lowercase_fallback, seed=config.training.seed,
    )
    log.info("embeddings %s: %s", e.source, report)
    if e.dim is not None and e.dim != matrix.shape[1]:
        log.warning("embeddings.dim=%d is ignored: the %s vectors are %d-d", e.dim, e.source,
                    matrix.shape[1])
    return EmbeddingSpec(dim=matrix.shape[1], matrix=matrix, freeze=e.freeze), report.to_dict()


def fit(config: RunConfig, train: TextDataset, validation: TextDataset | None = None,
        class_order: list[str] | None = None, *,
        on_epoch_end: EpochCallback | None = None) -> FitResult:
    """Fit preprocessing, vocabulary (train split only), labels and model; return a predictor.

    Seeded and deterministic with ``training.threads`` torch threads, all restored afterwards.
    ``on_epoch_end`` is the trainer's per-epoch hook (:data:`~embedlab.training.trainer.
    EpochCallback`: gets the epoch's history row, returns True to stop)."""
    return _fit(resolve_config(config), train, validation, class_order, on_epoch_end)


def _fit(config: RunConfig, train: TextDataset, validation: TextDataset | None,
         class_order: list[str] | None, on_epoch_end: EpochCallback | None) -> FitResult:
    """:func:`fit` on a config already resolved (:func:`embedlab.config.resolve_config`),
    seeded and deterministic with ``training.threads`` torch threads, all restored afterwards."""
    with seeded(config.training.seed, config.training.threads):
        return _fit_seeded(config, train, validation, class_order, on_epoch_end)


def _fit_seeded(config: RunConfig, train: TextDataset, validation: TextDataset | None,
                class_order: list[str] | None, on_epoch_end: EpochCallback | None) -> FitResult:
    params = config.model.params
    pre = Preprocessor.from_config(config.preprocess)
    train_texts = pre.batch(train.texts)
    labels = fit_labels(config, train, class_order)
    y_train = encode_labels(labels, train)
    check_decisions(config, validation, labels.multilabel)
    vocab = Vocabulary.fit(train_texts, config.vocab)
    weights = (labels.pos_weights(y_train, config.training.pos_weight_cap) if labels.multilabel
               else labels.class_weights(y_train, config.training.class_weights))
    spec, coverage = build_embedding_spec(config, vocab)
    check_model_memory(config, len(vocab), len(labels), spec.dim)
    model = build_model(config.model.name, vocab_size=len(vocab), num_classes=len(labels),
                        embedding=spec, params=params)
    fixed = getattr(model, "fixed_length", None)
    enc_train = EncodedTexts.build(vocab, train_texts, y_train, fixed)
    _log_cut(train_texts, config.vocab.max_length, config.vocab.level)
    _warn_wide_batches(config, model, int(enc_train.rows.lengths.max(initial=0)))
    observe = getattr(model, "observe_training", None)
    if observe is not None:  # statistics a model keeps of its training texts (fasttext: idf)
        observe(enc_train.batch(index) for index in enc_train.batches(1024))
    if config.training.oversample:  # after the vocabulary and the statistics: real counts
        rows = labels.oversampled(y_train, config.training.seed)
        log.info("oversampling: %d training rows resampled to %d (every class up to the "
                 "largest one's count)", len(y_train), len(rows))
        enc_train = enc_train.take(rows)
    enc_val = None
    if validation is not None and len(validation):
        enc_val = EncodedTexts.build(vocab, pre.batch(validation.texts),
                                     encode_labels(labels, validation), fixed)
    log.info("train %d texts, validation %d, vocabulary %d tokens, %d classes, model %s",
             len(train), len(validation) if validation else 0, len(vocab), len(labels),
             config.model.name)
    trainer = Trainer(model, config.training, weights, on_epoch_end=on_epoch_end)
    t0 = time.perf_counter()
    history = trainer.fit(enc_train, enc_val)
    seconds = time.perf_counter() - t0
    info = {"name": model.config["name"], "params": model.config["params"],
            "embedding_dim": spec.dim, "vocab_size": len(vocab), "num_classes": len(labels),
            "n_parameters": sum(p.numel() for p in model.parameters())}
    predictor = Predictor(config, pre, vocab, labels, model, info)
    # the validation rows as the predictor encodes them (same preprocessor and vocabulary)
    val_arrays = None if enc_val is None else enc_val.arrays()
    if validation is not None and len(validation):  # calibrated first: thresholds see the
        predictor.decisions = fit_run_decisions(  # shown probabilities
            config, predictor, validation, val_arrays)
    if labels.multilabel:
        predictor.thresholds = tune_thresholds(predictor, config, validation, val_arrays)
    return FitResult(predictor, history, trainer.best_epoch, seconds, coverage)


def check_decisions(config: RunConfig, validation: TextDataset | None,
                    multilabel: bool = False) -> None:
    """Refuse, before training, decisions that need a validation split when there is none, and
    options a multi-label run cannot take."""
    if multilabel and config.training.oversample:
        raise ConfigError("training.oversample resamples single-label classes; a multi-label "
                          "run weighs rare labels with training.pos_weight_cap instead")
    if multilabel and config.training.class_weights != "none":
        raise ConfigError("training.class_weights weighs single-label classes; a multi-label "
                          "run weighs each label's positives (training.pos_weight_cap) instead")
    if multilabel and config.decisions.calibration == "bcts":
        raise ConfigError("decisions.calibration=bcts is for single-label runs; a multi-label "
                          "run fits a temperature per label (calibration auto or temperature)")
    if multilabel and config.decisions.class_bias != "none":
        raise ConfigError("decisions.class_bias is for single-label runs; a multi-label run "
                          "chooses per-label thresholds on the validation split instead")
    if validation is not None and len(validation):
        return
    d = config.decisions
    asked = [name for name, on in ((f"decisions.calibration={d.calibration}",
                                    d.calibration in ("bcts", "temperature")),
                                   ("decisions.class_bias=macro_f1", d.class_bias == "macro_f1"))
             if on]
    if asked:
        raise ConfigError(f"{asked[0]} is fitted on the validation split, and this run has none; "
                          "keep a validation split (data.val_size > 0) or set it to none")
    log.info("no validation split: probabilities are not calibrated, and there are no "
             "prediction sets or out-of-distribution flags")


def fit_run_decisions(config: RunConfig, predictor: Predictor, validation: TextDataset,
                      encoded: EncodedArrays | None = None):
    """The run's :class:`~embedlab.decisions.fitted.Decisions`, fitted on the validation
    split's logits (the predictor's own forward pass; ``encoded``: the split as
    :meth:`~embedlab.inference.prediction.TextPredictor.encode_arrays` gives it, when the fit
    has it already)."""
    from embedlab.decisions.fitted import fit_decisions, fit_multilabel_decisions

    enc = predictor.encode_arrays(validation.texts) if encoded is None else encoded
    d = config.decisions
    if predictor.multilabel:
        dec = fit_multilabel_decisions(predictor.logits(enc), encode_labels(predictor.labels, validation),
                                       enc.known, enc.lengths, calibrate=d.calibration != "none",
                                       ood_rate=d.ood_false_flag_rate)
        log.info("decisions on %d validation texts: a temperature per label (cell ECE %.3f -> "
                 "%.3f)", len(enc), dec.figures["before"]["ece"], dec.figures["after"]["ece"])
        return dec
    y = predictor.labels.encode(validation.labels, source=validation.source)
    calibration = "bcts" if d.calibration == "auto" else d.calibration
    dec = fit_decisions(predictor.logits(enc), y, enc.known, enc.lengths,
                        calibration=calibration, class_bias=d.class_bias == "macro_f1",
                        ood_rate=d.ood_false_flag_rate)
    bias = {"bcts": ", a logit offset per class (bcts)", "temperature": "", "none": ""}
    log.info("decisions on %d validation texts: temperature %.3f (ECE %.3f -> %.3f)%s",
             len(y), dec.temperature, dec.figures["before"]["ece"], dec.figures["after"]["ece"],
             ", per-class bias for macro-F1" if d.class_bias == "macro_f1" else bias[calibration])
    return dec


def fit_labels(config: RunConfig, train: TextDataset, class_order: list[str] | None
               ) -> LabelEncoder:
    """The label encoder of a run: one class per label, multi-label when the data is."""
    if train.label_sets is not None:
        return LabelEncoder.fit_sets(train.label_sets, order=class_order, source=train.source,
                                     hierarchy=config.data.label_hierarchy)
    return LabelEncoder.fit(train.labels, order=class_order, source=train.source)


def encode_labels(labels: LabelEncoder, data: TextDataset) -> np.ndarray:
    """Class indices, or (multi-label) float indicator rows; a mismatch is a one-line error."""
    if labels.multilabel:
        if data.label_sets is None:
            raise DataError(f"{data.source}: single-label rows for a multi-label model; load "
                            "it as multi-label (label_sep, or lists of labels)")
        return labels.encode_sets(data.label_sets, source=data.source)
    if data.label_sets is not None:
        raise DataError(f"{data.source}: rows carry sets of labels but the model is "
                        "single-label")
    return labels.encode(data.labels, source=data.source)


def tune_thresholds(predictor: Predictor, config: RunConfig, validation: TextDataset | None,
                    encoded: EncodedArrays | None = None) -> Thresholds:
    """The run's thresholds, chosen on ``validation`` (``encoded``: as :func:`fit_run_decisions`
    takes it) by ``training.threshold_metric``
    (:func:`~embedlab.training.thresholds.choose_thresholds`); without validation, 0.5 for
    every label (a warning says so)."""
    from embedlab.training.thresholds import choose_thresholds

    metric = config.training.threshold_metric
    if validation is None or not len(validation):
        log.warning("no validation split: multi-label thresholds stay at 0.5")
        return Thresholds(0.5, dict.fromkeys(predictor.classes, 0.5), "global", metric)
    y = encode_labels(predictor.labels, validation)
    enc = predictor.encode_arrays(validation.texts) if encoded is None else encoded
    probs = predictor.probabilities(enc, INFERENCE_BATCH)
    parents = predictor.labels.parents() if predictor.labels.hierarchy else None
    chosen = choose_thresholds(y, probs, predictor.classes, metric, parents)
    log.info("thresholds (validation %s): global %.2f -> %.4f, per label -> %.4f; using %s",
             metric, chosen.global_threshold, chosen.scores["global"],
             chosen.scores["per_label"], chosen.use)
    return chosen


def _log_cut(texts: list[str], cap: int | None, level: str) -> None:
    """Say how many training texts ``vocab.max_length`` cuts (none is cut silently)."""
    if cap is None:
        return
    cut = sum(len(t.split() if level == "word" else t) > cap for t in texts)
    if cut:
        log.warning("%d of %d training texts are longer than vocab.max_length=%d tokens and are "
                    "cut to it (set vocab.max_length to null, or higher, to keep them whole)",
                    cut, len(texts), cap)


#: a training text longer than this (tokens) makes :func:`_warn_wide_batches` speak
WIDE_BATCH_TOKENS = 4096


def _warn_wide_batches(config: RunConfig, model: object, longest: int) -> None:
    """Warn when a model that trains on padded batches (every family but the fasttext model's
    packed SGD step) has a training text so long that the batch holding it is padded to it:
    prediction cuts such batches (:func:`~embedlab.inference.encoding.cut_batches`), training
    keeps the batch the schedule counts."""
    if longest <= WIDE_BATCH_TOKENS or getattr(model, "sgd_prepare", None) is not None:
        return
    size = config.training.batch_size
    log.warning("the longest training text has %d tokens: the %s model pads each training "
                "batch to its longest text, so the batch holding it takes %d x %d ids and their "
                "activations (set vocab.max_length to cut long texts)", longest,
                getattr(model, "family", None) or config.model.name, size, longest)


#: bytes per parameter while training: float32 weights, gradients and Adam's two moments
TRAINING_BYTES_PER_PARAMETER = 16


def available_memory(device: str) -> int | None:
    """Bytes free for training on ``device`` (a torch device string): the GPU's free memory,
    or the machine's MemAvailable; ``None`` when it cannot be told."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_model_memory(config: RunConfig, vocab_size: int, num_classes: int, dim: int) -> None:
    """Refuse, in one line, a model whose parameters would not fit in memory while training
    (e.g. ``model.params.hidden=[1000000000]``), before anything is allocated: the model is
    built on torch's ``meta`` device (shapes only) to count its parameters."""
    import torch

    try:
        with torch.device("meta"):
            probe = build_model(config.model.name, vocab_size=vocab_size,
                                num_classes=num_classes, embedding=EmbeddingSpec(dim=dim),
                                params=config.model.params)
    except (NotImplementedError, RuntimeError):  # a model that cannot be built on meta: no estimate
        return
    n = sum(p.numel() for p in probe.parameters())
    needed = n * TRAINING_BYTES_PER_PARAMETER
    free = available_memory(str(resolve_device(config.training.device)))
    if free is not None and needed > free:
        raise ConfigError(
            f"model.params: this {config.model.name} model would have {n:,} parameters, about "
            f"{needed / 2**30:,.1f} GiB to train (weights, gradients, optimizer state), more "
            f"than the {free / 2**30:,.1f} GiB free; make it smaller (model.params: "
            f"{json.dumps(config.model.params)})")


def predictor_metrics(predictor: TextPredictor, data: TextDataset) -> dict:
    """Metrics of a predictor on labelled data (a label it never saw is a clear error)."""
    if not len(data):
        raise DataError(f"{data.source}: no rows to evaluate")
    if predictor.multilabel:
        return _multilabel_metrics(predictor, data)
    y = encode_labels(predictor.labels, data)
    t0 = time.perf_counter()
    # every row is scored, texts empty after preprocessing too (the model's no-token output);
    # through the predictor, so an ensemble or an export is evaluated as it predicts
    probs = predictor.probabilities(predictor.encode_arrays(data.texts), INFERENCE_BATCH)
    seconds = time.perf_counter() - t0
    m = classification_metrics(y, probs.argmax(1), predictor.classes)
    from embedlab.decisions.conformal import risk_coverage_summary

    m["risk_coverage"] = risk_coverage_summary(probs, y)
    m["predict_seconds"] = seconds
    m["texts_per_s"] = len(data) / max(seconds, 1e-9)
    return m


def decision_metrics(predictor: TextPredictor, data: TextDataset | None,
                     split: str = "test") -> dict | None:
    """Calibration before / after (ECE, Brier, log loss, reliability bins), conformal sets at
    90 % and 95 % (coverage, mean size) and the risk–coverage AURC of a predictor with fitted
    decisions on labelled ``data``; None without decisions or data."""
    if predictor.decisions is None or data is None or not len(data):
        return None
    from embedlab.decisions.fitted import decision_figures

    enc = predictor.encode_arrays(data.texts)
    if predictor.multilabel:
        from embedlab.decisions.calibration import multilabel_calibration_figures, sigmoid_at

        z, y = predictor.logits(enc), encode_labels(predictor.labels, data)
        return {"n": len(y), "split": split,
                "label_temperatures": predictor.decisions.label_temperatures,
                "before": multilabel_calibration_figures(sigmoid_at(z), y),
                "after": multilabel_calibration_figures(predictor.decisions.probabilities(z), y)}
    out = decision_figures(predictor.decisions, predictor.logits(enc),
                           predictor.labels.encode(data.labels, source=data.source))
    out["split"] = split
    return out


def _multilabel_metrics(predictor: TextPredictor, data: TextDataset) -> dict:
    y = encode_labels(predictor.labels, data)
    t0 = time.perf_counter()
    probs = predictor.probabilities(predictor.encode_arrays(data.texts), INFERENCE_BATCH)
    pred = predictor.decide(probs)
    seconds = time.perf_counter() - t0
    m = multilabel_metrics(y, pred, predictor.classes)
    if predictor.labels.hierarchy:
        m["levels"] = level_metrics(y, probs, pred, predictor.labels.parents())
    if predictor.thresholds is not None:
        m["thresholds"] = predictor.thresholds.to_dict()
    m["predict_seconds"] = seconds
    m["texts_per_s"] = len(data) / max(seconds, 1e-9)
    return m


def plot_multilabel_pr(predictor: TextPredictor, data: TextDataset, out: str | Path) -> Path:
    """Per-label precision-recall curves of ``predictor`` on ``data``, thresholds marked."""
    from embedlab.training.plots import plot_pr_curves

    y = encode_labels(predictor.labels, data)
    probs = predictor.probabilities(predictor.encode_arrays(data.texts), INFERENCE_BATCH)
    cut = (predictor.thresholds.vector(predictor.classes) if predictor.thresholds is not None
           else np.full(len(predictor.classes), 0.5))
    return plot_pr_curves(y, probs, predictor.classes, cut.tolist(), out)


def train_run(config: RunConfig, out: str | Path | None = None, overwrite: bool = False,
              splits: Splits | None = None, *,
              on_epoch_end: EpochCallback | None = None) -> RunResult:
    """Run the whole loop from a config; with ``out`` write the run directory atomically.
    ``splits`` replaces the config's own splits (e.g. a cross-validation fold);
    ``on_epoch_end`` is the trainer's per-epoch hook (see :func:`fit`).

    Started by ``torchrun`` with several processes, it trains one model on all of them
    (:mod:`embedlab.training.distributed`); only rank 0 writes ``out``, the other ranks return
    ``out=None``."""
    config = resolve_config(config)  # once per run: fit, the trainer and config.yaml share it
    with process_group(resolve_device(config.training.device)):
        return _train_run(config, out, overwrite, splits, on_epoch_end)


def _train_run(config: RunConfig, out: str | Path | None, overwrite: bool,
               splits: Splits | None, on_epoch_end: EpochCallback | None) -> RunResult:
    from embedlab.artifacts import atomic_run_dir, ensure_free
    from embedlab.training.plots import plot_confusion_matrix, plot_learning_curves

    if out is not None and not is_main_process():
        out = None
    if out is not None:
        ensure_free(out, overwrite)
    splits = splits if splits is not None else load_splits(config)
    result = _fit(config, splits.train, splits.validation, splits.class_order, on_epoch_end)
    metrics: dict = {
        "data": {"train": len(splits.train), "validation": len(splits.validation or []),
                 "test": len(splits.test or []), "notes": list(splits.train.notes)},
        "train": {"n": len(splits.train), "seconds": result.train_seconds,
                  "samples_per_s": sum(h["samples_per_s"] * h["seconds"] for h in result.history)
                  / max(sum(h["seconds"] for h in result.history), 1e-9),
                  "epochs": len(result.history), "best_epoch": result.best_epoch},
    }
    if splits.validation is not None:
        metrics["validation"] = predictor_metrics(result.predictor, splits.validation)
    if splits.test is not None:
        metrics["test"] = predictor_metrics(result.predictor, splits.test)
    decisions = (decision_metrics(result.predictor, splits.test, "test") if splits.test is not None
                 else decision_metrics(result.predictor, splits.validation, "validation"))
    if decisions is not None:
        metrics["decisions"] = decisions
    if result.coverage is not None:
        metrics["embeddings_coverage"] = result.coverage
    if out is not None:
        with atomic_run_dir(out, overwrite=overwrite) as tmp:
            result.predictor.write(tmp)
            (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
            (tmp / "history.json").write_text(json.dumps(result.history, indent=1),
                                              encoding="utf-8")
            kept = [(n, d) for n, d in (("test", splits.test), ("validation", splits.validation))
                    if d is not None and len(d)]
            if kept:  # a few held-out texts, one per class: the web page's examples
                split, data = kept[0]
                (tmp / "examples.json").write_text(json.dumps(
                    {"split": split, "texts": data.examples(result.predictor.classes)},
                    ensure_ascii=False, indent=1), encoding="utf-8")
            plot_learning_curves(result.history, tmp / "learning_curves.png")
            if decisions is not None and "reliability_before" in decisions:  # single-label
                from embedlab.decisions.calibration import plot_reliability

                plot_reliability(decisions["reliability_before"], decisions["reliability_after"],
                                 tmp / "reliability.png",
                                 f"reliability on the {decisions['split']} split")
            report = metrics.get("test") or metrics.get("validation")
            held_out = splits.test if splits.test is not None else splits.validation
            if report and result.predictor.multilabel and held_out is not None:
                plot_multilabel_pr(result.predictor, held_out, tmp / "pr_curves.png")
            elif report:
                plot_confusion_matrix(report["confusion_matrix"], report["classes"],
                                      tmp / "confusion_matrix.png")
        result.predictor.path = Path(out)
    return RunResult(result.predictor, metrics, result.history, Path(out) if out else None)
