"""``train``: word2vec and fastText vectors learned from a corpus with gensim."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gensim.models import FastText, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec

from embedlab.embeddings.corpus import read_corpus, sentences_from_texts
from embedlab.embeddings.vectors import Vectors
from embedlab.errors import ConfigError, DataError

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger("embedlab.embeddings")

METHODS = ("word2vec", "fasttext")


def train(
    corpus: str | Path | Iterable[list[str]] | None = None,
    *,
    method: Literal["word2vec", "fasttext"] = "word2vec",
    sg: bool = True,
    dim: int = 100,
    window: int = 5,
    min_count: int = 3,
    negative: int = 20,
    hs: bool = False,
    epochs: int = 5,
    workers: int = 2,
    seed: int = 0,
    min_n: int = 3,
    max_n: int = 6,
    buckets: int = 200_000,
    sample: float = 1e-3,
    split_sentences: bool = True,
    lowercase: bool = True,
    punctuation: Literal["separate", "remove", "keep"] = "remove",
    remove_stopwords: bool = False,
    encoding: str = "utf-8",
    progress: bool = False,
) -> Vectors:
    """Learn word vectors with gensim's Word2Vec or FastText.

    Parameters
    ----------
    corpus:
        A plain-text file (split into sentences and preprocessed as set below) or an iterable
        of already tokenised sentences (used as is). See :func:`sentences_from_texts` for
        raw texts from a dataset or a table column.
    method:
        ``"word2vec"`` or ``"fasttext"`` (adds character n-gram vectors: out-of-vocabulary
        words get vectors).
    sg, hs, negative:
        Skip-gram (else CBOW); hierarchical softmax (then ``negative`` is set to 0) or negative
        sampling with ``negative`` noise words.
    min_n, max_n, buckets:
        fastText n-gram lengths and hash buckets (fastText's own default is 2M buckets; 200k
        keeps the n-gram table at 80 MB for 100-d vectors).
    workers, seed:
        Training threads and seed; only ``workers=1`` gives bit-identical runs.
    progress:
        Show a progress bar with the per-epoch loss (word2vec).

    Examples
    --------
    >>> v = train("corpus.txt", method="word2vec", dim=100, min_count=3)  # doctest: +SKIP
    >>> v.neighbors("scar", topn=5)  # doctest: +SKIP
    """
    if method not in METHODS:
        raise ConfigError(f"unknown training method '{method}'; known: {', '.join(METHODS)}")
    for name, value, low in [("dim", dim, 1), ("window", window, 1), ("min_count", min_count, 1),
                             ("epochs", epochs, 1), ("workers", workers, 1),
                             ("negative", negative, 0), ("min_n", min_n, 1),
                             ("buckets", buckets, 1)]:
        if value < low:
            raise ConfigError(f"{name} must be at least {low}; found {value}")
    if max_n < min_n:
        raise ConfigError(f"max_n must be at least min_n ({min_n}); found {max_n}")
    if corpus is None:
        raise DataError("no corpus given; pass a text file or tokenised sentences")
    if isinstance(corpus, (str, Path)):
        name = str(corpus)
        sentences = sentences_from_texts(
            [read_corpus(corpus, encoding)], split=split_sentences, lowercase=lowercase,
            punctuation=punctuation, remove_stopwords=remove_stopwords,
        )
    else:
        name = "sentences"
        sentences = [list(s) for s in corpus if len(s)]
    counts = Counter(w for s in sentences for w in s)
    if not counts:
        raise DataError(f"corpus {name} is empty (no tokens after preprocessing)")
    top, top_count = counts.most_common(1)[0]
    if top_count < min_count:
        raise DataError(
            f"no word in corpus {name} occurs min_count={min_count} times (the most frequent, "
            f"'{top}', occurs {top_count}); lower min_count or give a larger corpus"
        )
    if hs:
        negative = 0
    elif negative == 0:
        raise ConfigError("negative=0 without hs leaves no training objective; set negative > 0 "
                          "or hs=True")
    common = {"vector_size": dim, "window": window, "min_count": min_count, "sg": int(sg),
              "hs": int(hs), "negative": negative, "workers": workers, "seed": seed,
              "epochs": epochs, "sample": sample}
    if method == "word2vec":
        model = Word2Vec(**common, compute_loss=True)
    else:
        model = FastText(**common, min_n=min_n, max_n=max_n, bucket=buckets)
    model.build_vocab(sentences)
    callback = _EpochProgress(epochs, method == "word2vec", progress)
    start = time.perf_counter()
    with callback:
        model.train(sentences, total_examples=model.corpus_count, epochs=epochs,
                    compute_loss=method == "word2vec", callbacks=[callback])
    seconds = time.perf_counter() - start
    n_tokens = sum(counts.values())
    log.info("trained %s on %d sentences (%d tokens): %d words in %.1fs", method,
             len(sentences), n_tokens, len(model.wv), seconds)
    meta = {
        "method": method, "corpus": name, "sg": sg, "dim": dim, "window": window,
        "min_count": min_count, "negative": negative, "hs": hs, "epochs": epochs,
        "workers": workers, "seed": seed, "sample": sample,
        **({"min_n": min_n, "max_n": max_n, "buckets": buckets} if method == "fasttext" else {}),
        "preprocess": {"split_sentences": split_sentences, "lowercase": lowercase,
                       "punctuation": punctuation, "remove_stopwords": remove_stopwords},
        "sentences": len(sentences), "tokens": n_tokens, "train_seconds": round(seconds, 3),
        "epoch_losses": callback.losses or None,
    }
    return Vectors(model.wv, name=name, meta=meta,
                   model=model if method == "fasttext" else None)


class _EpochProgress(CallbackAny2Vec):
    """Advance a rich progress bar per epoch; record word2vec's per-epoch loss."""

    def __init__(self, epochs: int, with_loss: bool, show: bool) -> None:
        self.epochs, self.with_loss, self.show = epochs, with_loss, show
        self.losses: list[float] = []
        self._previous = 0.0
        self._bar: Progress | None = None

    def __enter__(self) -> _EpochProgress:
        if self.show:
            from rich.progress import BarColumn, Progress, TimeElapsedColumn

            self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                                 "{task.completed}/{task.total} epochs", TimeElapsedColumn())
            self._bar.start()
            self._task = self._bar.add_task("training", total=self.epochs)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def on_epoch_end(self, model: Word2Vec) -> None:
        text = ""
        if self.with_loss:
            total = float(model.get_latest_training_loss())
            self.losses.append(round(total - self._previous, 2))
            self._previous = total
            text = f" loss {self.losses[-1]:,.0f}"
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"training{text}")
