"""What every explanation method needs from a trained run: tokens with spans, ids, logits.

:class:`ModelView` wraps a :class:`~embedlab.inference.predictor.Predictor` (its public ``model``,
``vocab``, ``preprocessor`` and ``classes``) and adds what explaining needs: a text's tokens with
their character spans in the original text and their vocabulary status, the window the model
sees, and batched logits for token-id rows (any number of them, any lengths, empty rows allowed:
perturbation methods remove every token of a text at some point).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from embedlab.errors import ConfigError, DataError
from embedlab.explain.explanation import TokenStatus
from embedlab.explain.spans import token_spans
from embedlab.models.classifier import ClassifierModule
from embedlab.text.vocab import PAD_ID, UNK_ID

#: rows per forward pass when scoring perturbed texts
BATCH = 256


@dataclass
class Prepared:
    """One text ready to explain: all its tokens, and the ids of those the model sees."""

    text: str
    tokens: list[str]
    spans: list[tuple[int, int]]
    ids: list[int]  # the seen tokens' ids (len == seen)
    notes: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return len(self.ids)

    @property
    def known(self) -> int:
        return sum(i > UNK_ID for i in self.ids)

    def status(self, i: int) -> TokenStatus:
        if i >= self.seen:
            return "cut"
        return "known" if self.ids[i] > UNK_ID else "unknown"


class ModelView:
    """A predictor seen by the explainers (see the module docstring)."""

    def __init__(self, predictor: Any) -> None:
        if not isinstance(getattr(predictor, "model", None), ClassifierModule):
            raise ConfigError("explanations need one trained run directory (a PyTorch model); "
                              f"{type(predictor).__name__} has none (an ONNX export, or an "
                              "ensemble: explain one of its members)")
        self.predictor = predictor
        self.model: ClassifierModule = predictor.model.eval()
        self.vocab = predictor.vocab
        self.preprocessor = predictor.preprocessor
        self.classes: list[str] = list(predictor.classes)
        #: the family the model's class is registered under (``cnn``...), for messages and reports
        self.family: str = getattr(self.model, "family", "") or type(self.model).__name__
        if self.vocab.config.level != "word":
            raise ConfigError("explanations need a word-level vocabulary; this run uses "
                              f"'{self.vocab.config.level}' tokens")
        decisions = getattr(predictor, "decisions", None)
        bias = None if decisions is None else decisions.class_bias
        #: the run's per-class logit offset (decisions.json), added to every logit here so that
        #: the class explained by default is the one ``predict`` answers (an offset moves no
        #: gradient and no difference of one class's logits; the methods' ``base`` and scores
        #: stay the model's own logit, and probabilities here are before the temperature)
        self.class_bias: torch.Tensor | None = (
            None if bias is None else torch.tensor(bias, dtype=torch.float32))
        caps = [c for c in (self.vocab.config.max_length,
                            getattr(self.model, "fixed_length", None)) if c]
        self.window: int | None = min(caps) if caps else None

    @property
    def params(self) -> Any:
        return getattr(self.model, "params", None)

    def is_linear(self) -> bool:
        """Is the output an affine function of the (mean/sum-)pooled token vectors? (The
        model's class answers: ``ClassifierModule.is_linear``.)"""
        return bool(self.model.is_linear())

    def class_index(self, target: str | int | None, default: int) -> int:
        """Column of the class to explain; ``None`` means the predicted one."""
        if target is None:
            return default
        name = str(target)
        if name in self.classes:
            return self.classes.index(name)
        raise DataError(f"unknown target class '{name}'; the model's classes are: "
                        + ", ".join(self.classes))

    def prepare(self, text: str, index: int | None = None) -> Prepared:
        """Tokens, spans and ids of one raw text; one-line error when it has no token."""
        if not isinstance(text, str):
            where = "" if index is None else f"text {index}: "
            raise DataError(f"{where}expected a string, found {type(text).__name__}")
        tokens = self.preprocessor(text).split()
        if not tokens:
            where = "" if index is None else f" (text {index})"
            raise DataError(f"cannot explain an empty text{where}: preprocessing leaves no token")
        spans = token_spans(text, tokens, self.preprocessor.config)
        seen = tokens[: self.window] if self.window else tokens
        ids = [self.vocab.stoi.get(t, UNK_ID) for t in seen]
        prepared = Prepared(text, tokens, spans, ids)
        if len(seen) < len(tokens):
            prepared.notes.append(f"text cut: the model sees its first {len(seen)} of "
                                  f"{len(tokens)} tokens; the rest is not explained")
        if not prepared.known:
            prepared.notes.append("no known word: every token is <UNK> for this model, so the "
                                  "prediction rests on the unknown-word vector alone")
        return prepared

    def prepare_many(self, texts: Sequence[str], doing: str) -> tuple[list[Prepared], int]:
        """:meth:`prepare` every text, skipping (and counting) those that cannot be; a one-line
        error "no text to ``doing``" when none is left."""
        prepared, skipped = [], 0
        for t in texts:
            try:
                prepared.append(self.prepare(t))
            except DataError:
                skipped += 1
        if not prepared:
            raise DataError(f"no text to {doing}: every text is empty after preprocessing")
        return prepared, skipped

    # ----- forward passes ---------------------------------------------------------------------
    def pad(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """Right-pad rows with ``<PAD>`` to one tensor (to the model's fixed length if any)."""
        fixed = getattr(self.model, "fixed_length", None)
        width = fixed or max([len(r) for r in rows] + [1])
        out = np.full((len(rows), width), PAD_ID, dtype=np.int64)
        for i, r in enumerate(rows):
            r = list(r)[:width]
            out[i, : len(r)] = r
        return torch.from_numpy(out)

    @torch.no_grad()
    def logits(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """``[len(rows), classes]`` logits, in batches of similar length."""
        if not len(rows):
            return torch.zeros(0, len(self.classes))
        order = np.argsort([len(r) for r in rows], kind="stable")
        out = torch.empty(len(rows), len(self.classes))
        for start in range(0, len(order), BATCH):
            part = order[start:start + BATCH]
            out[torch.from_numpy(part)] = self.model(self.pad([rows[i] for i in part])).float()
        return out if self.class_bias is None else out + self.class_bias

    def proba(self, rows: Sequence[Sequence[int]]) -> np.ndarray:
        return torch.softmax(self.logits(rows), 1).numpy()

    def encode_raw(self, texts: Sequence[str]) -> list[list[int]]:
        """Id rows of raw texts (empty ones allowed), cut to the model's window."""
        cap = self.window
        rows = []
        for t in texts:
            ids = [self.vocab.stoi.get(w, UNK_ID) for w in self.preprocessor(t).split()]
            rows.append(ids[:cap] if cap else ids)
        return rows

    def proba_raw(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities of raw texts; unlike ``predict_proba``, texts may be empty (LIME)."""
        return self.proba(self.encode_raw(texts))


def delete(ids: Sequence[int], positions: Sequence[int] | np.ndarray) -> list[int]:
    """``ids`` without the tokens at ``positions`` (the text closes up, as if never written)."""
    drop = {int(p) for p in positions}
    return [t for i, t in enumerate(ids) if i not in drop]


def keep(ids: Sequence[int], positions: Sequence[int] | np.ndarray) -> list[int]:
    """Only the tokens at ``positions``, in text order."""
    chosen = {int(p) for p in positions}
    return [t for i, t in enumerate(ids) if i in chosen]
