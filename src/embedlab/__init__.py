"""embedlab: text classification on word embeddings — learn, load and explore embeddings;
train, evaluate, explain and serve classifiers.

>>> import embedlab
>>> clf = embedlab.TextClassifier(model="cnn", epochs=10).fit(texts, labels)   # doctest: +SKIP
>>> clf.save("runs/x"); embedlab.load("runs/x").predict(["..."])             # doctest: +SKIP
"""

from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, ConfigError, DataError, EmbeddingError, EmbedlabError
from embedlab.estimator import TextClassifier
from embedlab.predictor import Prediction, Predictor, load

__version__ = "0.1.0"

__all__ = [
    "ArtifactError", "ConfigError", "DataError", "EmbeddingError", "EmbedlabError",
    "Prediction", "Predictor", "RunConfig", "TextClassifier", "load", "train",
]


def train(config: RunConfig | dict, out=None, overwrite: bool = False):
    """Run the whole loop from a config (see :func:`embedlab.training.run.train_run`)."""
    from embedlab.training.run import train_run

    if isinstance(config, dict):
        config = RunConfig.from_dict(config)
    return train_run(config, out, overwrite)
