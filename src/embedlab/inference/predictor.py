"""A trained run's PyTorch classifier ready for inference: preprocessing + vocabulary + model +
labels.

:class:`Predictor` is one predictor kind beside :class:`embedlab.inference.ensemble.EnsemblePredictor`
and :class:`embedlab.export.OnnxPredictor`; :func:`embedlab.load` (:func:`embedlab.artifacts.load`)
picks among them by the directory's kind. All have the same ``predict`` / ``predict_proba`` /
``predict_labels`` API (see :mod:`embedlab.inference.prediction` for what an empty text
gives). Predictors are thread-safe:
inference holds no mutable state (the model stays in eval mode under ``torch.no_grad``; the HF
tokenizer's batch encoding is re-entrant).

This module imports torch only when a PyTorch model is loaded or built, so loading an export
stays torch-free.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.artifacts import verify_run
from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, EmbedlabError
from embedlab.inference.encoding import INFERENCE_BATCH, EncodedArrays
from embedlab.inference.prediction import Prediction, TextPredictor, Thresholds
from embedlab.text import LabelEncoder, Preprocessor, Vocabulary

if TYPE_CHECKING:
    import torch
    from torch import nn

    from embedlab.inference.forward import EncodedTexts

__all__ = ["Prediction", "Predictor", "TextPredictor"]


class Predictor(TextPredictor):
    """Inference over raw texts with the PyTorch model of a run directory."""

    def __init__(self, config: RunConfig, preprocessor: Preprocessor, vocab: Vocabulary,
                 labels: LabelEncoder, model: nn.Module, model_info: dict | None = None,
                 thresholds: Thresholds | None = None) -> None:
        self.config = config
        self.thresholds = thresholds
        self.preprocessor = preprocessor
        self.vocab = vocab
        self.labels = labels
        self.model = model.eval()
        self.model_info = model_info or {}
        self.path: Path | None = None

    @property
    def fixed_length(self) -> int | None:
        return getattr(self.model, "fixed_length", None)

    def encode(self, texts: Sequence[str]) -> EncodedTexts:
        """Preprocess and encode raw texts the way the model was trained (torch tensors)."""
        from embedlab.inference.forward import EncodedTexts

        return EncodedTexts.of(self.encode_arrays(texts), fixed_length=self.fixed_length)

    def predict_logits(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> torch.Tensor:
        """Raw logits for every text (empty texts included: the model's output for no tokens)."""
        from embedlab.inference.forward import predict_logits

        return predict_logits(self.model, self.encode(texts), batch_size)

    def _logits(self, enc: EncodedArrays, batch_size: int) -> np.ndarray:
        from embedlab.inference.forward import EncodedTexts, predict_logits

        data = EncodedTexts.of(enc, fixed_length=self.fixed_length)
        return predict_logits(self.model, data, batch_size).numpy()

    def explain(self, texts: Sequence[str], method: str = "auto", target: str | None = None,
                **kw: Any) -> list:
        """One :class:`~embedlab.explain.Explanation` per text (see :func:`embedlab.explain.explain`)."""
        from embedlab.explain import explain

        return explain(self, texts, method=method, target=target, **kw)

    # ----- persistence -------------------------------------------------------------------
    def write(self, directory: Path) -> None:
        """Write the inference files into ``directory`` (use inside :func:`atomic_run_dir`);
        weights holding nan or inf are refused (:func:`refuse_non_finite`) before any is written."""
        from safetensors.torch import save_file

        from embedlab.models.classifier import refuse_non_finite

        state = {k: v.detach().contiguous() for k, v in self.model.state_dict().items()}
        refuse_non_finite(state)
        directory = Path(directory)
        (directory / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")
        self.vocab.save(directory / "vocab.json")
        self.labels.save(directory / "labels.json")
        if self.thresholds is not None:
            self.thresholds.save(directory / "thresholds.json")
        (directory / "model.json").write_text(json.dumps(self.model_info, indent=1), encoding="utf-8")
        save_file(state, str(directory / "model.safetensors"), metadata={"format": "embedlab-model-v1"})
        if self.decisions is not None:
            from embedlab.decisions.fitted import DECISIONS_FILE

            (directory / DECISIONS_FILE).write_text(json.dumps(self.decisions.to_dict()),
                                                    encoding="utf-8")

    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        from embedlab.artifacts import atomic_run_dir

        with atomic_run_dir(out, overwrite=overwrite) as tmp:
            self.write(tmp)
        self.path = Path(out)
        return self.path

    @classmethod
    def load(cls, directory: str | Path, verify: bool = True) -> Predictor:
        """Load a run directory (checksums verified; no pickle is executed).

        Any file that cannot be read as written by training — even one whose checksum matches
        (the manifest recomputed after a damaging edit) — is reported as one
        :class:`ArtifactError` line: ``<dir>: this run directory is damaged: <reason>``. So are
        weights holding nan or inf (saved before training refused a non-finite loss, or edited):
        such a model could only predict nan, so ``load``, ``predict`` and ``serve`` all refuse it.
        """
        from safetensors import SafetensorError

        import embedlab.models  # noqa: F401 - import errors are bugs, not damaged files

        d = Path(directory)
        listed = None
        if verify:
            listed = set(verify_run(d)["files"])
        try:
            predictor = cls._read(d, listed)
            from embedlab.decisions.fitted import read_decisions

            predictor.decisions = read_decisions(d, listed, len(predictor.classes),
                                                 predictor.multilabel)
            return predictor
        except EmbedlabError as e:
            raise _damaged(d, str(e)) from None
        except KeyError as e:
            raise _damaged(d, f"a required field is missing ({e})") from None
        except (SafetensorError, OSError, ValueError, TypeError, RuntimeError) as e:
            raise _damaged(d, f"{type(e).__name__}: {e}") from None

    @classmethod
    def _read(cls, d: Path, listed: set[str] | None = None) -> Predictor:
        from safetensors.torch import load_file

        from embedlab.models import load_model
        from embedlab.models.classifier import non_finite_weight

        config = RunConfig.from_yaml(d / "config.yaml")
        vocab = Vocabulary.load(d / "vocab.json")
        labels = LabelEncoder.load(d / "labels.json")
        info = json.loads((d / "model.json").read_text(encoding="utf-8"))
        # load_model translates older architecture versions (embedlab.models.compat)
        weights = load_file(str(d / "model.safetensors"))
        bad = non_finite_weight(weights)  # refused before a model is built
        if bad is not None:
            raise ArtifactError(f"the model's weights are not finite (nan or inf in '{bad}'): "
                                "it could only predict nan; retrain it")
        model = load_model(info, weights, vocab_size=len(vocab), num_classes=len(labels))
        thresholds = None
        if labels.multilabel:
            thresholds = Thresholds.read(d, listed)
        predictor = cls(config, Preprocessor.from_config(config.preprocess), vocab, labels, model,
                        info, thresholds)
        predictor.path = d
        return predictor


def _damaged(d: Path, reason: str) -> ArtifactError:
    reason = " ".join(reason.split()) or "unreadable file"
    if len(reason) > 300:
        reason = reason[:300] + "…"
    return ArtifactError(f"{d}: this run directory is damaged: {reason}")
