"""Word embeddings: learn (word2vec/fastText), load (GloVe, word2vec, fastText, gensim),
explore (neighbours, analogies, projections), evaluate, probe for bias, and turn into the
embedding matrix of a classifier."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedlab.embeddings import bias
    from embedlab.embeddings.corpus import read_corpus, sentences_from_texts, split_sentences
    from embedlab.embeddings.evaluation import evaluate, evaluate_analogies, evaluate_similarity
    from embedlab.embeddings.learn import train
    from embedlab.embeddings.loading import load
    from embedlab.embeddings.matrix import CoverageReport, build_embedding_matrix
    from embedlab.embeddings.projection import (
        Projection,
        plot_projection,
        plot_projection_html,
        project,
    )
    from embedlab.embeddings.registry import SOURCES, Source, cache_dir
    from embedlab.embeddings.vectors import Vectors

#: public name -> the module that defines it. Imported on first use, so that the registry
#: (`embedlab embeddings list`, resolving ``embeddings.source: auto``) does not import gensim.
_HOME = {
    "bias": None,
    "read_corpus": "corpus", "sentences_from_texts": "corpus", "split_sentences": "corpus",
    "evaluate": "evaluation", "evaluate_analogies": "evaluation", "evaluate_similarity": "evaluation",
    "load": "loading",
    "CoverageReport": "matrix", "build_embedding_matrix": "matrix",
    "plot_projection": "projection", "plot_projection_html": "projection", "project": "projection",
    "Projection": "projection",
    "SOURCES": "registry", "Source": "registry", "cache_dir": "registry",
    "train": "learn",
    "Vectors": "vectors",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = _HOME[name]
    if home is None:  # a submodule
        return importlib.import_module(f"{__name__}.{name}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "SOURCES",
    "CoverageReport",
    "Projection",
    "Source",
    "Vectors",
    "bias",
    "build_embedding_matrix",
    "cache_dir",
    "evaluate",
    "evaluate_analogies",
    "evaluate_similarity",
    "load",
    "plot_projection",
    "plot_projection_html",
    "project",
    "read_corpus",
    "sentences_from_texts",
    "split_sentences",
    "train",
]
