"""An ONNX export as a predictor: numpy preprocessing + onnxruntime, torch never imported.

An export directory holds ``model.onnx`` (input ``ids`` int64 ``[batch, time]``, output
``logits`` ``[batch, classes]``; both axes dynamic), ``vocab.json``, ``labels.json``,
``preprocess.json``, ``export.json`` (architecture, lengths, n-gram hashing settings), the run's
``decisions.json`` when it has one (calibration, conformal scores, OOD reference) and
``manifest.json`` (kind :data:`embedlab.kinds.EXPORT_KIND`, sha256 of every file, verified on load).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from embedlab.atomic import MANIFEST, listed_file_problem, refuse_link
from embedlab.decisions.fitted import read_decisions
from embedlab.errors import ArtifactError, DataError, EmbedlabError
from embedlab.inference.encoding import EncodedArrays, length_sorted_batches
from embedlab.inference.prediction import TextPredictor, Thresholds
from embedlab.kinds import EXPORT_FORMAT, EXPORT_KIND
from embedlab.text import LabelEncoder, PreprocessConfig, Preprocessor, Vocabulary

REQUIRED = ("model.onnx", "vocab.json", "labels.json", "preprocess.json", "export.json")


def verify_export(directory: str | Path) -> dict:
    """Check an export directory is complete and unaltered; return its manifest."""
    d = Path(directory)
    if not d.is_dir():
        raise ArtifactError(f"{d}: export directory not found")
    refuse_link(d / MANIFEST)
    try:
        manifest = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        kind = manifest.get("kind")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ArtifactError(f"{d}: not a valid export: {MANIFEST} is missing or unreadable") from None
    if kind != EXPORT_KIND:
        raise ArtifactError(f"{d}: manifest kind is {kind!r}, expected {EXPORT_KIND!r}")
    problem = listed_file_problem(d, files, REQUIRED, "export")
    if problem:
        damage = "this export is damaged" if problem[0] else "incomplete export"
        raise ArtifactError(f"{d}: {damage}: {problem[1]}")
    return manifest


class OnnxPredictor(TextPredictor):
    """The ``predict`` / ``predict_proba`` / ``predict_labels`` API of
    :class:`embedlab.inference.predictor.Predictor`, running an exported graph on onnxruntime."""

    def __init__(self, session, preprocessor: Preprocessor, vocab: Vocabulary,
                 labels: LabelEncoder, info: dict) -> None:
        self.session = session
        self.preprocessor = preprocessor
        self.vocab = vocab
        self.labels = labels
        self.info = info
        #: architecture name and hyperparameters, as ``Predictor.model_info`` has them
        self.model_info = {"name": info.get("model"), "params": info.get("params", {}),
                           "runtime": "onnxruntime"}
        self.min_length = int(info.get("min_length", 1))
        self.path: Path | None = None

    @property
    def fixed_length(self) -> int | None:
        return self.info.get("fixed_length")

    @classmethod
    def load(cls, directory: str | Path, verify: bool = True,
             threads: int | None = None) -> OnnxPredictor:
        """Load an export (checksums verified unless ``verify=False``). ``threads`` caps
        onnxruntime's intra-op threads (default: onnxruntime's choice)."""
        d = Path(directory)
        listed = set(verify_export(d)["files"]) if verify else None
        try:
            import onnxruntime as ort
        except ImportError:
            raise ArtifactError(
                "onnxruntime is not installed: pip install 'embedlab[export]'") from None
        try:
            info = json.loads((d / "export.json").read_text(encoding="utf-8"))
            if info.get("format") != EXPORT_FORMAT:
                raise ArtifactError(f"export.json: expected format {EXPORT_FORMAT!r}, "
                                    f"found {info.get('format')!r}")
            pre = PreprocessConfig(**json.loads((d / "preprocess.json").read_text(encoding="utf-8")))
            vocab = Vocabulary.load(d / "vocab.json")
            labels = LabelEncoder.load(d / "labels.json")
            options = ort.SessionOptions()
            if threads:
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
            session = ort.InferenceSession(str(d / "model.onnx"), options,
                                           providers=["CPUExecutionProvider"])
        except EmbedlabError as e:
            raise ArtifactError(f"{d}: this export is damaged: {e}") from None
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            reason = " ".join(str(e).split())[:300]
            raise ArtifactError(f"{d}: this export is damaged: {type(e).__name__}: {reason}") from None
        width = session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != len(labels):
            raise ArtifactError(f"{d}: this export is damaged: labels.json lists {len(labels)} "
                                f"labels but model.onnx gives {width} scores")
        predictor = cls(session, Preprocessor.from_config(pre), vocab, labels, info)
        predictor.decisions = read_decisions(d, listed, len(labels), labels.multilabel)
        if labels.multilabel:
            try:
                predictor.thresholds = Thresholds.read(d, listed)
            except EmbedlabError as e:
                raise ArtifactError(f"{d}: this export is damaged: {e}") from None
        predictor.path = d
        return predictor

    def run_ids(self, ids: np.ndarray) -> np.ndarray:
        """Logits for one padded ``int64 [batch, time]`` id batch, as the graph computes them."""
        if ids.ndim != 2:
            raise DataError(f"expected ids [batch, time], found shape {ids.shape}")
        if ids.shape[1] < self.min_length:
            ids = np.pad(ids, ((0, 0), (0, self.min_length - ids.shape[1])))
        return self.session.run(["logits"], {"ids": ids.astype(np.int64, copy=False)})[0]

    def _logits(self, enc: EncodedArrays, batch_size: int) -> np.ndarray:
        out = np.empty((len(enc), len(self.classes)), dtype=np.float32)
        for index in length_sorted_batches(enc.lengths, batch_size):
            out[index] = self.run_ids(enc.batch(index, self.fixed_length, self.min_length))
        return out
