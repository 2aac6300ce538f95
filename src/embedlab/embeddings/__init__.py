"""Word embeddings: learn (word2vec/fastText), load (GloVe, word2vec, fastText, gensim),
explore (neighbours, analogies, projections), evaluate, probe for bias, and turn into the
embedding matrix of a classifier."""

from embedlab.embeddings.corpus import read_corpus, sentences_from_texts, split_sentences
from embedlab.embeddings.loading import load
from embedlab.embeddings.matrix import CoverageReport, build_embedding_matrix
from embedlab.embeddings.registry import SOURCES, Source, cache_dir
from embedlab.embeddings.training import train
from embedlab.embeddings.vectors import Vectors

__all__ = [
    "SOURCES",
    "CoverageReport",
    "Source",
    "Vectors",
    "build_embedding_matrix",
    "cache_dir",
    "load",
    "read_corpus",
    "sentences_from_texts",
    "split_sentences",
    "train",
]
