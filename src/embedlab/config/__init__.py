"""A run's configuration: the schema (:mod:`.schema`), its defaults and the one step that
resolves them (:mod:`.defaults`), and dotted keys for ``--set``, grids and search spaces
(:mod:`.keys`).
"""

from embedlab.config.defaults import (
    DEFAULT_RANDOM_DIM,
    DEFAULT_VECTORS,
    TRAINING_FALLBACKS,
    resolve_config,
    resolve_training,
    resolve_vectors,
)
from embedlab.config.schema import (
    DEVICE_PATTERN,
    DataConfig,
    EmbeddingsConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    config_error,
    read_yaml,
)

__all__ = [
    "DEFAULT_RANDOM_DIM",
    "DEFAULT_VECTORS",
    "DEVICE_PATTERN",
    "TRAINING_FALLBACKS",
    "DataConfig",
    "EmbeddingsConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "config_error",
    "read_yaml",
    "resolve_config",
    "resolve_training",
    "resolve_vectors",
]
