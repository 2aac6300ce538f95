"""A trained text classifier ready for inference: preprocessing + vocabulary + model + labels.

``embedlab.load(run_dir)`` returns a :class:`Predictor`. It is thread-safe: inference holds no
mutable state (the model stays in eval mode under ``torch.no_grad``; the HF tokenizer's batch
encoding is re-entrant).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from embedlab.artifacts import verify_run
from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, DataError
from embedlab.models import EmbeddingSpec, build_model
from embedlab.text import LabelEncoder, Preprocessor, Vocabulary
from embedlab.training.batching import EncodedTexts
from embedlab.training.trainer import predict_logits


@dataclass(frozen=True)
class Prediction:
    """The predicted label and the probability of every class, highest first."""

    label: str
    probabilities: dict[str, float]

    @property
    def score(self) -> float:
        return self.probabilities[self.label]

    def to_dict(self) -> dict:
        return {"label": self.label, "probabilities": self.probabilities}


def _check_texts(texts: Sequence[str] | str) -> list[str]:
    if isinstance(texts, str):
        raise DataError("expected a list of texts, found a single string (wrap it in a list)")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise DataError(f"text {i}: expected a string, found {type(t).__name__}")
    return out


class Predictor:
    """Inference over raw texts."""

    def __init__(self, config: RunConfig, preprocessor: Preprocessor, vocab: Vocabulary,
                 labels: LabelEncoder, model: nn.Module, model_info: dict | None = None) -> None:
        self.config = config
        self.preprocessor = preprocessor
        self.vocab = vocab
        self.labels = labels
        self.model = model.eval()
        self.model_info = model_info or {}
        self.path: Path | None = None

    @property
    def classes(self) -> list[str]:
        return list(self.labels.classes)

    @property
    def fixed_length(self) -> int | None:
        return getattr(self.model, "fixed_length", None)

    def encode(self, texts: Sequence[str]) -> EncodedTexts:
        """Preprocess and encode raw texts the way the model was trained."""
        return EncodedTexts.build(self.vocab, self.preprocessor.batch(_check_texts(texts)),
                                  fixed_length=self.fixed_length)

    def predict_logits(self, texts: Sequence[str], batch_size: int = 1024) -> torch.Tensor:
        return predict_logits(self.model, self.encode(texts), batch_size)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 1024) -> np.ndarray:
        """``(n_texts, n_classes)`` softmax probabilities, columns in ``classes`` order."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return torch.softmax(self.predict_logits(texts, batch_size), dim=1).numpy()

    def predict(self, texts: Sequence[str], batch_size: int = 1024) -> list[Prediction]:
        """One :class:`Prediction` per text: label plus sorted class probabilities."""
        probs = self.predict_proba(texts, batch_size)
        out = []
        for row in probs:
            order = np.argsort(-row, kind="stable")
            dist = {self.classes[j]: float(row[j]) for j in order}
            out.append(Prediction(self.classes[order[0]], dist))
        return out

    def predict_labels(self, texts: Sequence[str], batch_size: int = 1024) -> list[str]:
        return self.labels.decode(self.predict_proba(texts, batch_size).argmax(1))

    # ----- persistence -------------------------------------------------------------------
    def write(self, directory: Path) -> None:
        """Write the inference files into ``directory`` (use inside :func:`atomic_run_dir`)."""
        directory = Path(directory)
        (directory / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")
        self.vocab.save(directory / "vocab.json")
        self.labels.save(directory / "labels.json")
        (directory / "model.json").write_text(json.dumps(self.model_info, indent=1), encoding="utf-8")
        state = {k: v.detach().contiguous() for k, v in self.model.state_dict().items()}
        save_file(state, str(directory / "model.safetensors"), metadata={"format": "embedlab-model-v1"})

    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        from embedlab.artifacts import atomic_run_dir

        with atomic_run_dir(out, overwrite=overwrite) as tmp:
            self.write(tmp)
        self.path = Path(out)
        return self.path

    @classmethod
    def load(cls, directory: str | Path, verify: bool = True) -> Predictor:
        """Load a run directory (checksums verified; no pickle is executed)."""
        d = Path(directory)
        if verify:
            verify_run(d)
        config = RunConfig.from_yaml(d / "config.yaml")
        vocab = Vocabulary.load(d / "vocab.json")
        labels = LabelEncoder.load(d / "labels.json")
        try:
            info = json.loads((d / "model.json").read_text(encoding="utf-8"))
            model = build_model(
                info["name"], vocab_size=len(vocab), num_classes=len(labels),
                embedding=EmbeddingSpec(dim=info["embedding_dim"]), params=info["params"],
            )
            model.load_state_dict(load_file(str(d / "model.safetensors")))
        except (KeyError, json.JSONDecodeError, RuntimeError) as e:
            raise ArtifactError(f"{d}: model files do not match ({str(e).splitlines()[0]})") from None
        predictor = cls(config, Preprocessor.from_config(config.preprocess), vocab, labels, model, info)
        predictor.path = d
        return predictor


def load(directory: str | Path) -> Predictor:
    """Load a trained run directory for prediction."""
    return Predictor.load(directory)
