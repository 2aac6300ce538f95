"""The contract every classifier follows: ids in, logits out, a per-token path for explanations,
optional explanation signals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import nn

from embedlab.errors import DataError, TrainingError
from embedlab.models.embedding import EmbeddingSpec
from embedlab.models.head import OutputHead

Signals = dict[str, torch.Tensor]


class ModelParams(BaseModel):
    """Base of every model's hyperparameters: unknown keys are rejected, values are immutable.

    Every model ends in the same :class:`~embedlab.models.head.OutputHead`, configured by
    ``hidden`` (sizes of its Linear → ReLU layers; an int ``n`` is read as ``[n]``, 0 as ``[]``)
    and ``dropout``. A model changes their defaults by redeclaring the field.

    ``training_defaults`` is the one source of the training settings (``lr``, ``patience``) a
    run uses when its config leaves them unset; a model overrides it where it trains better
    with others. :func:`embedlab.config.resolve_config` applies it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    training_defaults: ClassVar[dict[str, Any]] = {"lr": 1e-3, "patience": 3}

    hidden: list[int] = Field(
        default=[100], description="sizes of the output head's Linear+ReLU layers ([]: none)"
    )
    dropout: float = Field(
        default=0.1, ge=0.0, lt=1.0, description="dropout before each Linear of the output head "
        "after the first hidden one (with no hidden layer: on the pooled vector)"
    )

    @field_validator("hidden", mode="before")
    @classmethod
    def _hidden_shorthand(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return [value] if value else []
        return value

    @field_validator("hidden")
    @classmethod
    def _hidden_sizes(cls, value: list[int]) -> list[int]:
        if any(size < 1 for size in value):
            raise ValueError(f"hidden sizes must be positive, found {value}")
        return value


class ClassifierModule(nn.Module):
    """Base class of the classifiers.

    Input is ``ids: LongTensor [batch, time]``, right-padded with ``PAD_ID`` (0); a row may be all
    padding. ``forward`` returns raw logits ``[batch, num_classes]``.

    Per-token path (what explainers differentiate through):

    * :meth:`embed` ``(ids) -> FloatTensor [batch, features, dim]``: the token vectors the model
      pools or convolves (``features == time`` except for ``fasttext`` with n-grams, see its
      docstring; :meth:`feature_spans` maps every feature to its token span);
    * :meth:`forward_embedded` ``(vectors, ids) -> logits``: the rest of the model, from those
      vectors. ``forward(ids)`` equals ``forward_embedded(embed(ids), ids)`` (to float rounding;
      ``forward`` may take a faster route to the same numbers). Vectors at padding positions
      are ignored: only ``ids`` says where the text is.

    ``forward_with_signals`` also returns intermediate tensors (see each model's docstring).

    A subclass defines ``Params`` and implements ``_build`` (create its layers, return the width
    of the pooled vector) and ``_from_vectors``; ``_embed`` looks ids up in ``self.embedding``
    unless overridden; ``_run`` may be overridden with a faster ``forward``. The base class builds the :class:`OutputHead` as ``self.head``.

    Attributes
    ----------
    fixed_length:
        Length batches must be padded/truncated to, or ``None`` when any length works.
    params:
        The validated ``Params``.
    config:
        ``{"name": versioned architecture, "params": {...}}`` (set by ``build_model``).
    """

    Params: ClassVar[type[ModelParams]]
    fixed_length: int | None = None
    #: the token table the default ``_embed`` looks ids up in (a family that overrides
    #: ``_embed`` may keep its tables under other names and not set it)
    embedding: nn.Module
    #: the family this class is registered under (set by ``register_model``)
    family: ClassVar[str] = ""
    #: the explanation methods ``auto`` tries, in order (the first one the model can do and
    #: whose library is installed wins; occlusion when none)
    auto_explanation: ClassVar[tuple[str, ...]] = ("occlusion",)

    def __init__(
        self, vocab_size: int, num_classes: int, embedding: EmbeddingSpec, params: ModelParams
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.num_classes = num_classes
        self.params = params
        self.config: dict[str, Any] = {}
        pooled = self._build(embedding)
        self.head = OutputHead(pooled, list(params.hidden), num_classes, params.dropout)

    def _build(self, embedding: EmbeddingSpec) -> int:
        """Create the layers before the head; return the size of the pooled vector."""
        raise NotImplementedError

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Return logits ``[batch, num_classes]`` (inference batches are cut and trimmed once,
        in :func:`embedlab.inference.forward.predict_logits`)."""
        return self._run(self._check_ids(ids), None)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """The token vectors ``[batch, features, dim]`` the model pools or convolves."""
        return self._embed(self._check_ids(ids))

    def forward_embedded(self, vectors: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Logits from the vectors :meth:`embed` gives (or perturbed ones) and the ``ids``."""
        ids = self._check_ids(ids)
        return self._from_vectors(self._check_vectors(vectors, ids), ids, None)

    def forward_with_signals(self, ids: torch.Tensor) -> tuple[torch.Tensor, Signals]:
        """Return logits and a dict of intermediate signals (see each model's docstring)."""
        ids = self._check_ids(ids)
        signals: Signals = {}
        logits = self._from_vectors(self._embed(ids), ids, signals)
        return logits, signals

    def feature_spans(self, ids: torch.Tensor) -> torch.Tensor:
        """``LongTensor [features, 2]``: the token span ``[start, stop)`` of each feature (axis 1)
        of :meth:`embed`'s output for a batch of ``ids``; here one token per feature."""
        start = torch.arange(ids.size(1), device=ids.device)
        return torch.stack([start, start + 1], 1)

    def _run(self, ids: torch.Tensor, signals: Signals | None) -> torch.Tensor:
        """Plain forward; a model may override it with a faster route to the same logits."""
        return self._from_vectors(self._embed(ids), ids, signals)

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)

    def _from_vectors(
        self, vectors: torch.Tensor, ids: torch.Tensor, signals: Signals | None
    ) -> torch.Tensor:
        raise NotImplementedError

    def _check_vectors(self, vectors: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        expected = self.feature_spans(ids).size(0)
        if (
            not isinstance(vectors, torch.Tensor)
            or not vectors.is_floating_point()
            or vectors.dim() != 3
            or vectors.size(0) != ids.size(0)
            or vectors.size(1) != expected
        ):
            raise DataError(
                f"{type(self).__name__} vectors: expected a float tensor [{ids.size(0)}, "
                f"{expected}, dim] as embed() returns for these ids; found {_describe(vectors)}"
            )
        return vectors

    # ----- what the family can do: asked by embedlab.explain and embedlab.export --------------
    def is_linear(self) -> bool:
        """Are the logits an affine function of the mean/sum of :meth:`embed`'s vectors (so
        the ``exact`` explanation holds)?"""
        return False

    def order_free(self) -> bool:
        """Does the model ignore word order (LIME may then treat a text as a bag of words)?"""
        return False

    def explanation_methods(self) -> list[str]:
        """Names of the explanation methods this model supports (``auto`` aside), in the order
        they are listed: every model has the per-token path ``ig``, ``lime`` and ``occlusion``
        need; ``exact`` needs :meth:`is_linear`. A family adds its own (cnn: ``ngrams``)."""
        return [*(["exact"] if self.is_linear() else []), "ig", "lime", "occlusion"]

    def export_graph(self) -> nn.Module:
        """The ``ids -> logits`` module exported as ONNX: by default the per-token path; a
        family may give the same computation in operations runtimes run faster."""
        return PerTokenGraph(self)

    def export_hashing(self) -> dict[str, Any] | None:
        """How the exported graph hashes n-grams (recorded in ``export.json``), or ``None``."""
        return None

    def sparse_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters whose gradients are sparse (train them with ``SparseAdam``)."""
        return []

    @staticmethod
    def _trained_weights(*tables: nn.Embedding | nn.EmbeddingBag | None) -> list[nn.Parameter]:
        """The weights of ``tables`` that train (``requires_grad``), for ``sparse_parameters``."""
        out = []
        for table in tables:
            # torch types Embedding.weight as Tensor; it is always the table's Parameter
            weight = None if table is None else table.weight
            if isinstance(weight, nn.Parameter) and weight.requires_grad:
                out.append(weight)
        return out

    def dense_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters with dense gradients (everything not in ``sparse_parameters``)."""
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in sparse]

    def _check_ids(self, ids: torch.Tensor) -> torch.Tensor:
        if (
            not isinstance(ids, torch.Tensor)
            or ids.dim() != 2
            or ids.dtype not in (torch.int64, torch.int32)
        ):
            raise DataError(
                f"{type(self).__name__} input: expected an integer tensor [batch, time]; "
                f"found {_describe(ids)}"
            )
        if ids.numel():
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.vocab_size:
                raise DataError(
                    f"{type(self).__name__} input: token ids must be in [0, {self.vocab_size}); "
                    f"found ids from {low} to {high}"
                )
        return ids.long()


class PerTokenGraph(nn.Module):
    """``ids -> logits`` through the model's per-token path,
    ``forward_embedded(embed(ids), ids)``: export-friendly operations only (``forward``'s fast
    routes, packed ``embedding_bag`` with ``padding_idx`` or gathering real-token windows, do
    not export)."""

    #: recorded as ``graph`` in ``export.json``
    name: ClassVar[str] = "per-token"

    def __init__(self, model: ClassifierModule) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.forward_embedded(self.model.embed(ids), ids)


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"shape {tuple(value.shape)} dtype {value.dtype}"
    return type(value).__name__


def non_finite_weight(weights: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding nan or inf, or None: the one check
    behind refusing such weights at the end of training, at saving and at loading."""
    for key, tensor in weights.items():
        # a finite sum means every value is finite (a nan or an inf would carry into it), and
        # takes a tenth of the time of isfinite().all() on a large table (1 ms against 14 on
        # 100,000 x 50); only a sum that is not finite (or that overflowed) is checked value
        # by value
        if tensor.is_floating_point() and not _sum_is_finite(tensor) and not bool(
                tensor.isfinite().all()):
            return key
    return None


def _sum_is_finite(tensor: torch.Tensor) -> bool:
    """Whether ``tensor``'s sum is finite; False for a dtype torch cannot sum (float8), which
    :func:`non_finite_weight` then checks value by value."""
    try:
        return bool(tensor.sum().isfinite())
    except (RuntimeError, NotImplementedError):
        return False


def refuse_non_finite(weights: Mapping[str, torch.Tensor]) -> None:
    """:class:`TrainingError` when the weights about to be saved hold nan or inf: a run that
    could only predict nan is never written."""
    bad = non_finite_weight(weights)
    if bad is not None:
        raise TrainingError(f"the trained weights are not finite ({bad} holds nan or inf); "
                            "nothing was saved. Lower training.lr, or look for nan / inf "
                            "values in the data or the vectors")
