"""Text classifiers on word embeddings: cnn, bag, rnn, fasttext (importing this registers them).

Every model maps ``ids [batch, time]`` (right-padded with 0) to logits ``[batch, classes]``,
offers ``forward_with_signals`` for explanations, and gets its embedding layer from an
:class:`EmbeddingSpec`.
"""

from embedlab.models import bag, cnn, fasttext, rnn  # noqa: F401  (registers the models)
from embedlab.models.classifier import ClassifierModule, ModelParams
from embedlab.models.embedding import PAD_ID, UNK_ID, EmbeddingSpec
from embedlab.models.registry import (
    build_model,
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
    "build_model",
    "model_names",
    "model_param_schema",
    "register_model",
    "validate_model_params",
]
