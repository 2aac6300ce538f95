"""Text classifiers on word embeddings: cnn, bag, rnn, fasttext (importing this registers them).

Every model maps ``ids [batch, time]`` (right-padded with 0) to logits ``[batch, classes]``,
has a per-token path (``embed`` / ``forward_embedded``) and ``forward_with_signals`` for
explanations, ends in the shared :class:`OutputHead`, and gets its embedding layer from an
:class:`EmbeddingSpec`. Architectures are versioned (``embedlab.cnn.v2``); see
:mod:`embedlab.models.registry`. A class also says what its family can do:
``explanation_methods`` / ``auto_explanation`` (for :mod:`embedlab.explain`), ``export_graph`` and
``export_hashing`` (for :mod:`embedlab.export`).
"""

# importing the families registers them; compat registers their retired versions
from embedlab.models import bag, cnn, compat, fasttext, rnn  # noqa: F401
from embedlab.models.classifier import ClassifierModule, ModelParams
from embedlab.models.embedding import PAD_ID, UNK_ID, EmbeddingSpec
from embedlab.models.head import OutputHead
from embedlab.models.registry import (
    architecture_name,
    build_model,
    load_model,
    model_class,
    model_names,
    model_param_schema,
    register_model,
    validate_model_params,
)

__all__ = [
    "PAD_ID",
    "UNK_ID",
    "ClassifierModule",
    "EmbeddingSpec",
    "ModelParams",
    "OutputHead",
    "architecture_name",
    "build_model",
    "load_model",
    "model_class",
    "model_names",
    "model_param_schema",
    "register_model",
    "validate_model_params",
]
