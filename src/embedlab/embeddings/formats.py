"""Reading vectors files: format sniffing and strict, fast readers.

Formats
-------
``glove-text``
    One word then its floats per line, no header (GloVe).
``word2vec-text`` / ``fasttext-vec``
    The same with a first line ``"<count> <dim>"`` (word2vec text, fastText ``.vec``).
``word2vec-binary``
    Header line, then per word: the word, a space, ``dim`` little-endian float32.
``fasttext-bin``
    Facebook's fastText model; subword (character n-gram) vectors are kept.
``embedlab``
    A directory written by :meth:`Vectors.save`: ``.npy`` arrays (memory-mapped), a JSON word
    list and ``manifest.json``. Loading it cannot execute code.
``gensim``
    gensim's native ``KeyedVectors.save`` file (or a directory written by embedlab 0.1). It is a
    Python pickle, and unpickling can run arbitrary code: it is loaded only when this format is
    named explicitly (``format="gensim"``, ``--format gensim`` or a ``gensim:`` prefix), never
    by sniffing. Load only files you trust.

Every problem is raised as a one-line :class:`~embedlab.errors.EmbeddingError` naming the file
and, for text files, the line.

Every vector read from a file or directory must be finite: a ``nan`` or ``inf`` value (or a
number too large for float32) is refused at load, naming the word and, in text files, the line —
training on it would only produce ``nan`` losses and predictions (the offline GloVe package,
``_load_package`` in :mod:`~embedlab.embeddings.loading`, is a fixed file and is not scanned). A word listed twice is kept once, with its first vector,
and a warning names the word and both places: what gensim's ``load_word2vec_format`` does
(``"ignoring all but first"``), so gensim users get the vectors they would get there.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from array import array as int_array
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from embedlab.atomic import refuse_link, unsafe_name_problem
from embedlab.embeddings.vectors import (
    LEGACY_META_FILE,
    LEGACY_NATIVE_FILE,
    MANIFEST_FILE,
    NGRAMS_FILE,
    VECTORS_FILE,
    VECTORS_KIND,
    VECTORS_VERSION,
    VOCAB_FILE,
    WORDS_FILE,
    from_arrays,
    head,
)
from embedlab.errors import EmbeddingError

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = (
    "embedlab", "glove-text", "word2vec-text", "fasttext-vec", "word2vec-binary", "fasttext-bin",
    "gensim",
)
#: Formats that :func:`sniff_format` may answer (``gensim`` is never guessed: it is pickle).
SNIFFABLE: tuple[str, ...] = tuple(f for f in FORMATS if f != "gensim")
GENSIM_PREFIX = "gensim:"
TEXT_FORMATS = ("glove-text", "word2vec-text", "fasttext-vec")

FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")
_HEADER = re.compile(rb"\s*(\d+)\s+(\d+)\s*")
_SNIFF_BYTES = 1 << 16
_BATCH_LINES = 20_000
# Bytes that never occur in text vectors files (controls other than tab/newline/CR).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"


def looks_binary(data: bytes) -> bool:
    """True when more than 1% of ``data`` are control bytes (float32 data, not text)."""
    if not data:
        return False
    n = sum(data.count(bytes([b])) for b in _CONTROL)
    return n > 0.01 * len(data)


def _split_header(data: bytes) -> tuple[tuple[int, int] | None, bytes]:
    first, _, rest = data.partition(b"\n")
    m = _HEADER.fullmatch(first)
    if m:
        return (int(m.group(1)), int(m.group(2))), rest
    return None, data


def _pickle_refusal(path: Path, what: str) -> EmbeddingError:
    return EmbeddingError(
        f"{path} {what}, a Python pickle: embedlab does not unpickle files it was not told to, "
        "because unpickling can execute code; if you trust this file, name the format "
        f"explicitly (format='gensim', --format gensim, or '{GENSIM_PREFIX}{path}')"
    )


def sniff_format(path: str | Path) -> str:
    """Guess the format of a vectors file or directory from its first bytes.

    Never answers ``"gensim"``: a pickle (first byte ``0x80``) is refused with a message that
    says how to load it explicitly.
    """
    path = Path(path)
    if path.is_dir():
        if (path / MANIFEST_FILE).exists():
            return "embedlab"
        if (path / LEGACY_NATIVE_FILE).exists():
            raise _pickle_refusal(
                path, f"was written by embedlab 0.1: its {LEGACY_NATIVE_FILE} is gensim's format"
            )
        raise EmbeddingError(
            f"{path} is a directory without {MANIFEST_FILE}; expected a directory written by "
            "Vectors.save / 'embedlab embeddings train'"
        )
    with open(path, "rb") as f:
        data = f.read(_SNIFF_BYTES)
    if not data:
        raise EmbeddingError(f"{path} is empty; expected a vectors file")
    if data[:4] == FASTTEXT_MAGIC:
        return "fasttext-bin"
    if data[:1] == b"\x80":
        raise _pickle_refusal(path, "looks like gensim's native format")
    header, body = _split_header(data)
    if header is not None:
        return "word2vec-binary" if looks_binary(body) else "word2vec-text"
    if looks_binary(data):
        raise EmbeddingError(
            f"{path} is a binary file of no known vectors format (expected GloVe/word2vec text, "
            "word2vec binary, fastText .bin or an embedlab vectors directory)"
        )
    return "glove-text"


def check_format(path: Path, format: str) -> None:
    """Raise when ``path`` plainly is not in the ``format`` asked for (binary vs text ...)."""
    if format == "gensim":
        return
    if format == "embedlab" or path.is_dir():
        if format != "embedlab" or not (path / MANIFEST_FILE).exists():
            raise EmbeddingError(
                f"{path}: format '{format}' was asked, but "
                + ("it is a directory" if path.is_dir() else "it is not a directory")
                + (f" without {MANIFEST_FILE}" if path.is_dir() else "")
                + "; an embedlab vectors directory holds manifest.json, words.json and .npy files"
            )
        return
    try:
        sniffed = sniff_format(path)
    except EmbeddingError:
        with open(path, "rb") as f:
            if f.read(1) != b"\x80":
                raise
        sniffed = "gensim"
    if sniffed == format or (format == "fasttext-vec" and sniffed == "word2vec-text"):
        return
    if format in TEXT_FORMATS and sniffed in ("word2vec-binary", "fasttext-bin", "gensim"):
        raise EmbeddingError(
            f"{path} looks like a binary file ({sniffed}) but format '{format}' (text) was "
            f"asked; use format '{sniffed}' or leave the format out to sniff it"
        )
    if format in ("word2vec-binary", "fasttext-bin") and sniffed in TEXT_FORMATS:
        raise EmbeddingError(
            f"{path} looks like a text vectors file ({sniffed}) but format '{format}' (binary) "
            f"was asked; use format '{sniffed}' or leave the format out to sniff it"
        )
    if format == "glove-text" and sniffed == "word2vec-text":
        raise EmbeddingError(
            f"{path} starts with a '<count> <dim>' header line, which GloVe text files do not "
            "have; use format 'word2vec-text'"
        )
    if format in ("word2vec-text", "fasttext-vec") and sniffed == "glove-text":
        raise EmbeddingError(
            f"{path} line 1: expected a '<count> <dim>' header; found a vector line; "
            "use format 'glove-text'"
        )
    raise EmbeddingError(f"{path} looks like {sniffed}, not {format}")


# ---------------------------------------------------------------------------- text
def read_text(path: str | Path, *, header: bool, limit: int | None = None) -> KeyedVectors:
    """Read GloVe (``header=False``) or word2vec/fastText ``.vec`` (``header=True``) text.

    Lines are parsed in batches with numpy's C float parser. Words must be UTF-8.
    """
    path = Path(path)
    words: list[str] = []
    linenos = int_array("q")  # the line of every word, for messages
    blocks: list[np.ndarray] = []
    batch: list[bytes] = []
    count: int | None = None
    dim: int | None = None
    lineno = 0
    with open(path, "rb") as f:
        if header:
            count, dim = _read_header(path, f.readline())
            lineno = 1
        for raw in f:
            lineno += 1
            if limit is not None and len(words) >= limit:
                break
            line = raw.rstrip()
            if not line:
                continue
            if dim is None:
                dim = _first_line_dim(path, lineno, line)
            cut = _word_end(path, lineno, line, dim)
            words.append(_decode_word(path, lineno, line[:cut]))
            linenos.append(lineno)
            batch.append(line[cut + 1:])
            if len(batch) >= _BATCH_LINES:
                blocks.append(_parse_block(path, batch, words, linenos, dim))
                batch = []
        if batch and dim is not None:  # a non-empty batch means a vector line set dim
            blocks.append(_parse_block(path, batch, words, linenos, dim))
    return _text_vectors(path, words, linenos, blocks, count, limit)


def _read_header(path: Path, first: bytes) -> tuple[int, int]:
    """``(count, dim)`` from a word2vec / ``.vec`` file's first line."""
    m = _HEADER.fullmatch(first.rstrip(b"\r\n"))
    if not m:
        raise EmbeddingError(
            f"{path} line 1: expected a '<count> <dim>' header; found "
            f"{first[:40]!r}"
        )
    return int(m.group(1)), int(m.group(2))


def _first_line_dim(path: Path, lineno: int, line: bytes) -> int:
    """The dimension of a headerless file: the number of values on its first vector line."""
    dim = line.count(b" ")
    if dim < 1:
        raise EmbeddingError(
            f"{path} line {lineno}: expected a word followed by numbers; found "
            f"{line[:40]!r}"
        )
    return dim


def _word_end(path: Path, lineno: int, line: bytes, dim: int) -> int:
    """Where the word of a vector line ends (the space before its ``dim`` values)."""
    spaces = line.count(b" ")
    if spaces == dim:
        return line.index(b" ")
    if spaces < dim:
        raise _dim_error(path, lineno, dim, spaces)
    # A word containing spaces (GloVe 840B has some) or too many values.
    # A number right before the last ``dim`` values means too many values.
    cut = len(line.rsplit(b" ", dim)[0])
    extra = _count_numeric_tail(line[:cut])
    if extra:
        raise _dim_error(path, lineno, dim, dim + extra)
    return cut


def _decode_word(path: Path, lineno: int, word: bytes) -> str:
    """The word of a vector line; text vectors files must be UTF-8."""
    try:
        return word.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = word[e.start]
        raise EmbeddingError(
            f"{path} line {lineno}: the word is not valid UTF-8 (byte 0x{bad:02x}); "
            "vectors text files must be UTF-8 — re-encode the file (e.g. iconv -f cp1252 "
            "-t utf-8)"
        ) from None


def _parse_block(path: Path, batch: list[bytes], words: list[str], linenos: Sequence[int],
                 dim: int) -> np.ndarray:
    """The vectors of the last ``len(batch)`` words read, refused when one is not finite."""
    first = len(words) - len(batch)
    block = _parse_floats(path, batch, linenos[first:], dim)
    bad = first_non_finite(block)
    if bad is not None:
        raise EmbeddingError(
            f"{path} line {linenos[first + bad]}: the vector of '{words[first + bad]}' "
            f"holds {_non_finite(block[bad])}; vectors must be finite numbers")
    return block


def _text_vectors(path: Path, words: list[str], linenos: Sequence[int], blocks: list[np.ndarray],
                  count: int | None, limit: int | None) -> KeyedVectors:
    """The vectors of a text file once read: checked against its header's count, the later
    copies of a word listed twice dropped."""
    if not words:
        raise EmbeddingError(f"{path} has no vectors; expected at least one '<word> <numbers>' line")
    if count is not None and limit is None and len(words) != count:
        raise EmbeddingError(
            f"{path}: the header says {count} words but the file has {len(words)}"
        )
    vectors = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    words, vectors = keep_first(path, words, vectors, lambda i: f"line {linenos[i]}")
    return from_arrays(words, vectors)


def first_non_finite(vectors: np.ndarray, rows: int = 65_536) -> int | None:
    """The index of the first row of ``vectors`` holding a nan or inf, or None. Read in slices
    of ``rows`` rows, so a memory-mapped array is checked without a full-size temporary."""
    for start in range(0, len(vectors), rows):
        ok = np.isfinite(vectors[start:start + rows]).all(axis=1)
        if not ok.all():
            return start + int(np.argmin(ok))
    return None


def _non_finite(row: np.ndarray) -> str:
    if np.isnan(row).any():
        return "nan"
    return "inf (infinite, or a number too large for float32)"


def check_finite(kv: KeyedVectors, path: str | Path) -> None:
    """Refuse vectors holding nan or inf, naming the word (for fastText models also the
    subword tables, by row)."""
    bad = first_non_finite(kv.vectors)
    if bad is not None:
        raise EmbeddingError(f"{path}: the vector of '{kv.index_to_key[bad]}' holds "
                             f"{_non_finite(np.asarray(kv.vectors[bad]))}; vectors must be "
                             "finite numbers")
    for table in ("vectors_vocab", "vectors_ngrams"):
        values = getattr(kv, table, None)
        if isinstance(values, np.ndarray) and values is not kv.vectors and values.ndim == 2:
            bad = first_non_finite(values)
            if bad is not None:
                raise EmbeddingError(f"{path}: row {bad} of the {table} table holds "
                                     f"{_non_finite(np.asarray(values[bad]))}; vectors must be "
                                     "finite numbers")


def keep_first(path: str | Path, words: list[str], vectors: np.ndarray,
               where: Callable[[int], str]) -> tuple[list[str], np.ndarray]:
    """Drop the later copies of a word listed twice (its first vector is kept, as gensim does),
    logging one warning per word naming both places (``where(index)``, e.g. ``"line 7"``)."""
    if len(set(words)) == len(words):
        return words, vectors
    first: dict[str, int] = {}
    keep = np.ones(len(words), dtype=bool)
    for i, w in enumerate(words):
        j = first.setdefault(w, i)
        if j != i:
            keep[i] = False
            log.warning("%s: '%s' is listed twice (%s and %s); keeping the first vector, as "
                        "gensim does", path, w, where(j), where(i))
    return [w for w, k in zip(words, keep) if k], np.asarray(vectors)[keep]


def _count_numeric_tail(word_part: bytes) -> int:
    tokens = word_part.split(b" ")
    n = 0
    for tok in reversed(tokens):
        if not _is_number(tok):
            break
        n += 1
    return n - 1 if n == len(tokens) else n  # the first token is the word itself


def _dim_error(path: Path, lineno: int, dim: int, found: int) -> EmbeddingError:
    return EmbeddingError(
        f"{path} line {lineno}: expected {dim} values (the dimension set by the first vector "
        f"line or header); found {found}"
    )


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_floats(path: Path, lines: list[bytes], linenos: Sequence[int], dim: int) -> np.ndarray:
    try:
        text = b" ".join(lines).decode("ascii")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.fromstring(text, dtype=np.float32, sep=" ")
    except (UnicodeDecodeError, ValueError):  # numpy >= 2.3 raises on unparsable data
        arr = np.empty(0, dtype=np.float32)
    if arr.size == len(lines) * dim:
        return arr.reshape(len(lines), dim)
    for offset, line in enumerate(lines):  # find the culprit for the message
        for tok in line.split(b" "):
            if not _is_number(tok):
                raise EmbeddingError(
                    f"{path} line {linenos[offset]}: expected {dim} numbers after the "
                    f"word; found {tok[:30]!r}"
                )
    raise EmbeddingError(f"{path}: could not parse the vector values")


# ---------------------------------------------------------------------------- binary
def read_word2vec_binary(path: str | Path, *, limit: int | None = None) -> KeyedVectors:
    """Read a word2vec binary file with gensim, turning its errors into one line."""
    path = Path(path)
    try:
        kv = KeyedVectors.load_word2vec_format(str(path), binary=True, limit=limit)
    except UnicodeDecodeError as e:
        raise EmbeddingError(
            f"{path}: a word is not valid UTF-8 (byte 0x{e.object[e.start]:02x}); expected a "
            "word2vec binary file with UTF-8 words"
        ) from None
    except (ValueError, EOFError, OSError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EmbeddingError(f"{path}: not a valid word2vec binary file ({msg})") from None
    n = len(kv.key_to_index)
    if n != len(kv.index_to_key):
        # gensim keeps the first vector of a repeated word (and logs its name) but leaves an
        # empty slot (key None, zero vector) at the end for each repeat: drop those slots
        log.warning("%s: %d word(s) listed twice; keeping the first vector of each, as gensim "
                    "does", path, len(kv.index_to_key) - n)
        kv.index_to_key = kv.index_to_key[:n]
        kv.vectors = np.ascontiguousarray(kv.vectors[:n])
    return kv


def read_fasttext_bin(path: str | Path) -> KeyedVectors:
    """Read Facebook's fastText ``.bin`` keeping the subword vectors."""
    from gensim.models.fasttext import load_facebook_vectors

    path = Path(path)
    try:
        return load_facebook_vectors(str(path))
    except (ValueError, EOFError, OSError, NotImplementedError, AssertionError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EmbeddingError(f"{path}: not a valid fastText .bin model ({msg})") from None


def read_embedlab(path: str | Path, *, mmap: bool = True) -> tuple[KeyedVectors, dict]:
    """Load a directory written by :meth:`Vectors.save` (arrays memory-mapped, no pickle).

    Returns the vectors and the saved provenance (``meta`` of the manifest). File sizes,
    array shapes and the word count are checked against the manifest.
    """
    path = Path(path)
    manifest = _read_manifest(path)
    try:
        files = manifest["files"]
        n, dim = int(manifest["words"]), int(manifest["dim"])
        subwords = manifest.get("subwords")
    except (KeyError, TypeError, ValueError):
        raise EmbeddingError(f"{path / MANIFEST_FILE}: not a valid vectors manifest") from None
    if not isinstance(files, dict):
        raise EmbeddingError(f"{path / MANIFEST_FILE}: not a valid vectors manifest")
    _check_files(path, files)
    words = _read_words(path, n)
    vectors = _read_array(path, VECTORS_FILE, n, dim, mmap)
    if not subwords:
        words, vectors = keep_first(path, words, vectors, lambda i: f"position {i}")
        kv = from_arrays(words, vectors)
    else:
        kv = _subword_vectors(path, words, vectors, subwords, mmap)
    return kv, dict(manifest.get("meta") or {})


def _read_manifest(path: Path) -> dict:
    """The manifest of an embedlab vectors directory, of the kind and version this reads."""
    refuse_link(path / MANIFEST_FILE, EmbeddingError)
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmbeddingError(f"{path}: incomplete vectors directory ({MANIFEST_FILE} is missing)") \
            from None
    except (OSError, ValueError) as e:
        raise EmbeddingError(f"{path / MANIFEST_FILE}: not a valid manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != VECTORS_KIND:
        raise EmbeddingError(
            f"{path / MANIFEST_FILE}: not an embedlab vectors manifest (kind "
            f"{manifest.get('kind') if isinstance(manifest, dict) else None!r}, expected "
            f"'{VECTORS_KIND}')"
        )
    if manifest.get("version") != VECTORS_VERSION:
        raise EmbeddingError(
            f"{path}: vectors format version {manifest.get('version')!r} is not supported "
            f"(this embedlab reads version {VECTORS_VERSION})"
        )
    return manifest


def _check_files(path: Path, files: dict) -> None:
    """Every file the manifest lists is a safe name inside ``path``, present, of its size."""
    for name in [*files, WORDS_FILE, VECTORS_FILE, VOCAB_FILE, NGRAMS_FILE]:
        unsafe = unsafe_name_problem(path, name)  # before anything is opened
        if unsafe:
            raise EmbeddingError(f"{path}: the vectors directory is damaged: {unsafe}")
    for name, entry in files.items():
        p = path / name
        if not p.is_file():
            raise EmbeddingError(f"{path}: incomplete vectors directory ({name} is missing)")
        if not isinstance(entry, dict):
            raise EmbeddingError(f"{path / MANIFEST_FILE}: not a valid vectors manifest")
        if p.stat().st_size != entry.get("bytes"):
            raise EmbeddingError(
                f"{p}: size {p.stat().st_size} bytes differs from the manifest's "
                f"{entry.get('bytes')}; the vectors directory is damaged"
            )


def _read_words(path: Path, n: int) -> list[str]:
    """The directory's word list: JSON, ``n`` strings."""
    try:
        words = json.loads((path / WORDS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EmbeddingError(f"{path / WORDS_FILE}: not a JSON word list ({e})") from None
    if not isinstance(words, list) or len(words) != n or not all(isinstance(w, str) for w in words):
        raise EmbeddingError(f"{path / WORDS_FILE}: expected a JSON list of {n} strings")
    return words


def _read_array(path: Path, name: str, rows: int | None, dim: int, mmap: bool) -> np.ndarray:
    """A ``.npy`` array of the directory (no pickle), of shape ``(rows, dim)``."""
    try:
        a = np.load(path / name, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EmbeddingError(f"{path / name}: not a valid .npy array ({msg})") from None
    if a.ndim != 2 or a.shape[1] != dim or (rows is not None and a.shape[0] != rows):
        raise EmbeddingError(
            f"{path / name}: expected an array of shape ({rows if rows is not None else 'n'}, "
            f"{dim}); found {a.shape}"
        )
    return a


def _subword_vectors(path: Path, words: list[str], vectors: np.ndarray, subwords: dict,
                     mmap: bool) -> KeyedVectors:
    """fastText vectors: the word vectors with the saved subword (n-gram bucket) tables."""
    from gensim.models.fasttext import FastTextKeyedVectors

    n, dim = vectors.shape
    bucket = int(subwords["bucket"])
    kv = FastTextKeyedVectors(dim, int(subwords["min_n"]), int(subwords["max_n"]), bucket,
                              count=0, dtype=vectors.dtype)
    kv.vectors = vectors
    kv.index_to_key = words
    kv.key_to_index = {w: i for i, w in enumerate(words)}
    if bucket > 0:
        kv.vectors_vocab = _read_array(path, VOCAB_FILE, n, dim, mmap)
        kv.vectors_ngrams = _read_array(path, NGRAMS_FILE, bucket, dim, mmap)
    else:
        kv.vectors_vocab = vectors
    return kv


def read_gensim(path: str | Path, *, mmap: bool = True) -> tuple[KeyedVectors, dict]:
    """Load gensim's native ``KeyedVectors.save`` file (or an embedlab 0.1 directory).

    .. warning:: This unpickles the file, which can execute arbitrary code. It is called only
       when the user names the ``gensim`` format; never on a sniffed file. Load only files you
       trust, then re-save them with :meth:`Vectors.save` (no pickle).
    """
    path = Path(path)
    meta: dict = {}
    file = path
    if path.is_dir():
        file = path / LEGACY_NATIVE_FILE
        if (path / LEGACY_META_FILE).exists():
            meta = json.loads((path / LEGACY_META_FILE).read_text())
    try:
        kv = KeyedVectors.load(str(file), mmap="r" if mmap else None)
    except FileNotFoundError as e:
        raise EmbeddingError(
            f"{path}: incomplete gensim vectors (missing {Path(e.filename or '?').name})"
        ) from None
    except Exception as e:  # noqa: BLE001 (unpickling garbage raises any kind)
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EmbeddingError(f"{path}: not a gensim KeyedVectors file ({msg})") from None
    if not isinstance(kv, KeyedVectors):
        raise EmbeddingError(
            f"{path}: holds a gensim {type(kv).__name__}, expected KeyedVectors (save model.wv)"
        )
    return kv, meta


def limit_vectors(kv: KeyedVectors, limit: int | None, path: Path | str) -> KeyedVectors:
    """Keep the first ``limit`` words (not possible for subword models)."""
    if limit is None:
        return kv
    from gensim.models.fasttext import FastTextKeyedVectors

    if isinstance(kv, FastTextKeyedVectors):
        raise EmbeddingError(
            f"{path}: limit is not supported for fastText models with subwords (load it whole)"
        )
    return head(kv, limit)
