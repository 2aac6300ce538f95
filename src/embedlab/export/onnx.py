"""Write a run's model as ONNX, verified against PyTorch before anything is written.

The graph is the one the model's class declares (``ClassifierModule.export_graph``): the
per-token path, ``forward_embedded(embed(ids), ids)``, or for the cnn the same computation
written with ``nn.Conv1d``, which onnxruntime runs faster; ``export.json`` records which
(``graph``). It is traced by the TorchScript exporter (``dynamo=False``): the dynamo exporter writes wrong GRU weights
(onnxscript issue #2852), and ``forward``'s fast routes (packed ``embedding_bag`` with
``padding_idx``, gathering only real-token windows) do not export. Every family's graph —
fastText's n-gram hashing included — is checked against PyTorch on held-out texts; an export
whose largest probability difference exceeds the tolerance is refused and nothing is written.
"""

from __future__ import annotations

import json
import logging
import platform
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from embedlab.atomic import atomic_dir
from embedlab.errors import ArtifactError
from embedlab.export.runtime import EXPORT_FORMAT, EXPORT_KIND, OnnxPredictor
from embedlab.inference.predictor import Predictor
from embedlab.models.classifier import ClassifierModule

log = logging.getLogger("embedlab")

TOLERANCE = 1e-4
OPSET = 17
#: exported graphs are traced on, and always fed, at least this many columns (a few models
#: branch on the length in Python; padding beyond the text never changes the logits)
MIN_LENGTH = 8


@dataclass
class ExportReport:
    """What an export wrote and how closely it matches PyTorch."""

    out: Path
    model: str
    texts_checked: int
    max_abs_diff: float
    tolerance: float
    onnx_bytes: int

    def to_dict(self) -> dict:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


def _model(predictor: Predictor) -> ClassifierModule:
    model = predictor.model
    if not isinstance(model, ClassifierModule):
        raise ArtifactError(f"cannot export {type(model).__name__}: not an embedlab classifier")
    return model


def _graph(predictor: Predictor) -> nn.Module:
    """The module to trace: the one the model's family declares (``export_graph``)."""
    return _model(predictor).export_graph()


def _min_length(predictor: Predictor) -> int:
    params = predictor.model_info.get("params", {})
    widths = params.get("widths") or [1]
    return max(MIN_LENGTH, int(params.get("ngrams", 1)), max(widths))


def held_out_texts(predictor: Predictor, n: int = 256, seed: int = 0) -> list[str]:
    """Texts built from the run's own vocabulary (plus unknown words), lengths 1 to past the
    truncation length: enough variety to compare an export with the PyTorch model."""
    rng = np.random.default_rng(seed)
    words = predictor.vocab.itos[2:]
    cap = predictor.vocab.config.max_length or 200
    longest = min(cap + 5, 120)
    lengths = np.concatenate([[1, 2, 3, longest], rng.integers(1, longest + 1, max(n - 4, 0))])
    texts = []
    for length in lengths[:n]:
        picked = rng.integers(0, len(words), int(length))
        tokens = [words[i] if rng.random() > 0.1 else f"zzunknown{i}" for i in picked]
        texts.append(" ".join(tokens))
    texts.append("zzunknownword zzanother")
    return texts


def _write_files(predictor: Predictor, tmp: Path, opset: int) -> dict:
    model = _model(predictor).eval()
    min_length = _min_length(predictor)
    length = predictor.fixed_length or min_length + 4
    dummy = torch.ones(2, length, dtype=torch.long).clamp_max(len(predictor.vocab) - 1)
    graph = _graph(predictor)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python values are expected
        torch.onnx.export(
            graph, (dummy,), str(tmp / "model.onnx"), dynamo=False,
            input_names=["ids"], output_names=["logits"], opset_version=opset,
            dynamic_axes={"ids": {0: "batch", 1: "time"}, "logits": {0: "batch"}},
        )
    predictor.vocab.save(tmp / "vocab.json")
    predictor.labels.save(tmp / "labels.json")
    if predictor.thresholds is not None:  # a multi-label run's decision thresholds
        predictor.thresholds.save(tmp / "thresholds.json")
    (tmp / "preprocess.json").write_text(
        json.dumps(predictor.preprocessor.config.model_dump(), indent=1), encoding="utf-8")
    if predictor.decisions is not None:  # calibration, sets and OOD travel with the export
        from embedlab.decisions.fitted import DECISIONS_FILE

        (tmp / DECISIONS_FILE).write_text(json.dumps(predictor.decisions.to_dict()),
                                          encoding="utf-8")
    params = predictor.model_info.get("params", {})
    info = {
        "format": EXPORT_FORMAT,
        "model": predictor.model_info.get("name"),
        "architecture": getattr(model, "config", {}).get("name"),
        "family": model.family,
        "graph": getattr(graph, "name", type(graph).__name__),
        "params": params,
        "classes": predictor.classes,
        "input": {"name": "ids", "dtype": "int64", "shape": ["batch", "time"], "pad_id": 0,
                  "unk_id": 1},
        "output": {"name": "logits", "shape": ["batch", len(predictor.classes)],
                   "probabilities": ("sigmoid of each logit (multi-label: a label is predicted "
                                     "at or over its threshold in thresholds.json, and the "
                                     "most probable always)") if predictor.multilabel
                   else "softmax over the last axis",
                   "calibration": None if predictor.decisions is None
                   else "logits + class_bias, divided by the temperature(s) of decisions.json, "
                        "before the softmax / sigmoid"},
        "fixed_length": predictor.fixed_length,
        "min_length": min_length,
        "max_length": predictor.vocab.config.max_length,
        "ngram_hashing": model.export_hashing(),
        "opset": opset,
        "exported_with": {"torch": torch.__version__, "python": platform.python_version()},
    }
    (tmp / "export.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def compare(predictor: Predictor, exported: OnnxPredictor, texts: list[str]) -> float:
    """Largest absolute probability difference between PyTorch and the export on ``texts``:
    length-sorted batches, one batch padded to the longest text, and batch size 1."""
    enc = predictor.encode_arrays(texts)
    keep = np.flatnonzero(enc.lengths > 0)
    if not len(keep):
        raise ArtifactError("no non-empty text to verify the export on")
    texts = [texts[i] for i in keep]
    reference = predictor.predict_proba(texts)
    diffs = [np.abs(exported.predict_proba(texts) - reference).max()]
    enc = exported.encode_arrays(texts)
    one_batch = enc.batch(np.arange(len(enc)), exported.fixed_length)
    diffs.append(np.abs(exported.calibrated(exported.run_ids(one_batch)) - reference).max())
    few = texts[:16]
    diffs.append(np.abs(exported.predict_proba(few, batch_size=1) - reference[:16]).max())
    return float(max(diffs))


def export_onnx(run: str | Path | Predictor, out: str | Path, *, overwrite: bool = False,
                texts: list[str] | None = None, tolerance: float = TOLERANCE,
                opset: int = OPSET) -> ExportReport:
    """Export a run directory (or a loaded :class:`Predictor`) to ``out`` as ONNX.

    The export is verified before it is put in place: onnxruntime and PyTorch predict
    ``texts`` (default: :func:`held_out_texts`); if the largest probability difference exceeds
    ``tolerance`` an :class:`ArtifactError` is raised and nothing is written. ``out`` follows the
    artifact rules (an existing export is replaced only with ``overwrite``).
    """
    predictor = run if isinstance(run, Predictor) else Predictor.load(run)
    check = list(texts) if texts is not None else held_out_texts(predictor)
    fields: dict = {"format": EXPORT_FORMAT,
                    "source_run": str(predictor.path) if predictor.path else None}
    out = Path(out)
    with atomic_dir(out, kind=EXPORT_KIND, overwrite=overwrite, fields=fields) as tmp:
        try:
            info = _write_files(predictor, tmp, opset)
        except ArtifactError:
            raise
        except Exception as e:  # noqa: BLE001 - the exporter raises many types
            reason = " ".join(str(e).split())[:300]
            raise ArtifactError(f"ONNX export of model '{predictor.model_info.get('name')}' "
                                f"failed: {type(e).__name__}: {reason}") from None
        exported = OnnxPredictor.load(tmp, verify=False)
        diff = compare(predictor, exported, check)
        if not diff <= tolerance:
            raise ArtifactError(
                f"ONNX export of model '{info['model']}' does not match PyTorch: largest "
                f"probability difference {diff:.2e} > {tolerance:.0e} on {len(check)} texts; "
                "nothing was written")
        fields["verification"] = {"texts": len(check), "max_abs_diff": diff, "tolerance": tolerance}
        size = (tmp / "model.onnx").stat().st_size
    log.debug("exported %s to %s (max probability difference %.1e on %d texts)",
             info["model"], out, diff, len(check))
    return ExportReport(out, info["model"], len(check), diff, tolerance, size)
