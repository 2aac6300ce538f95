"""Word embeddings: learn (word2vec/fastText), load (GloVe, word2vec, fastText, gensim),
explore (neighbours, analogies, projections), evaluate, probe for bias, and turn into the
embedding matrix of a classifier."""

from embedlab.embeddings import bias
from embedlab.embeddings.corpus import read_corpus, sentences_from_texts, split_sentences
from embedlab.embeddings.evaluation import evaluate, evaluate_analogies, evaluate_similarity
from embedlab.embeddings.loading import load
from embedlab.embeddings.matrix import CoverageReport, build_embedding_matrix
from embedlab.embeddings.projection import plot_projection, plot_projection_html, project
from embedlab.embeddings.registry import SOURCES, Source, cache_dir
from embedlab.embeddings.training import train
from embedlab.embeddings.vectors import Vectors

__all__ = [
    "SOURCES",
    "CoverageReport",
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
