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
``gensim``
    gensim's native ``KeyedVectors.save`` file, or a directory written by ``Vectors.save``.

Every problem is raised as a one-line :class:`~embedlab.errors.EmbeddingError` naming the file
and, for text files, the line.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from embedlab.embeddings.vectors import META_FILE, NATIVE_FILE, from_arrays, head
from embedlab.errors import EmbeddingError

FORMATS: tuple[str, ...] = (
    "glove-text", "word2vec-text", "fasttext-vec", "word2vec-binary", "fasttext-bin", "gensim",
)
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


def sniff_format(path: str | Path) -> str:
    """Guess the format of a vectors file or directory from its first bytes."""
    path = Path(path)
    if path.is_dir():
        if (path / NATIVE_FILE).exists():
            return "gensim"
        raise EmbeddingError(
            f"{path} is a directory without {NATIVE_FILE}; expected a directory written by "
            "Vectors.save / 'embedlab embeddings train'"
        )
    with open(path, "rb") as f:
        data = f.read(_SNIFF_BYTES)
    if not data:
        raise EmbeddingError(f"{path} is empty; expected a vectors file")
    if data[:4] == FASTTEXT_MAGIC:
        return "fasttext-bin"
    if data[:1] == b"\x80":
        return "gensim"
    header, body = _split_header(data)
    if header is not None:
        return "word2vec-binary" if looks_binary(body) else "word2vec-text"
    if looks_binary(data):
        raise EmbeddingError(
            f"{path} is a binary file of no known vectors format (expected GloVe/word2vec text, "
            "word2vec binary, fastText .bin or gensim native)"
        )
    return "glove-text"


def check_format(path: Path, format: str) -> None:
    """Raise when ``path`` plainly is not in the ``format`` asked for (binary vs text ...)."""
    if format == "gensim":
        return
    sniffed = sniff_format(path)
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
    blocks: list[np.ndarray] = []
    batch: list[bytes] = []
    batch_start = 0
    dim: int | None = None
    count: int | None = None
    lineno = 0

    def flush() -> None:
        nonlocal batch
        if batch:
            blocks.append(_parse_floats(path, batch, batch_start, dim))
            batch = []

    with open(path, "rb") as f:
        if header:
            first = f.readline()
            lineno = 1
            m = _HEADER.fullmatch(first.rstrip(b"\r\n"))
            if not m:
                raise EmbeddingError(
                    f"{path} line 1: expected a '<count> <dim>' header; found "
                    f"{first[:40]!r}"
                )
            count, dim = int(m.group(1)), int(m.group(2))
        for raw in f:
            lineno += 1
            if limit is not None and len(words) >= limit:
                break
            line = raw.rstrip()
            if not line:
                continue
            if dim is None:
                dim = line.count(b" ")
                if dim < 1:
                    raise EmbeddingError(
                        f"{path} line {lineno}: expected a word followed by numbers; found "
                        f"{line[:40]!r}"
                    )
            spaces = line.count(b" ")
            if spaces == dim:
                cut = line.index(b" ")
            elif spaces > dim:
                # A word containing spaces (GloVe 840B has some) or too many values.
                # A number right before the last ``dim`` values means too many values.
                cut = len(line.rsplit(b" ", dim)[0])
                extra = _count_numeric_tail(line[:cut])
                if extra:
                    raise _dim_error(path, lineno, dim, dim + extra)
            else:
                raise _dim_error(path, lineno, dim, spaces)
            try:
                words.append(line[:cut].decode("utf-8"))
            except UnicodeDecodeError as e:
                bad = line[:cut][e.start]
                raise EmbeddingError(
                    f"{path} line {lineno}: the word is not valid UTF-8 (byte 0x{bad:02x}); "
                    "vectors text files must be UTF-8 — re-encode the file (e.g. iconv -f cp1252 "
                    "-t utf-8)"
                ) from None
            if not batch:
                batch_start = lineno
            batch.append(line[cut + 1:])
            if len(batch) >= _BATCH_LINES:
                flush()
        flush()
    if not words:
        raise EmbeddingError(f"{path} has no vectors; expected at least one '<word> <numbers>' line")
    if count is not None and limit is None and len(words) != count:
        raise EmbeddingError(
            f"{path}: the header says {count} words but the file has {len(words)}"
        )
    vectors = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return from_arrays(words, vectors)


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


def _parse_floats(path: Path, lines: list[bytes], first_lineno: int, dim: int) -> np.ndarray:
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
                    f"{path} line {first_lineno + offset}: expected {dim} numbers after the "
                    f"word; found {tok[:30]!r}"
                )
    raise EmbeddingError(f"{path}: could not parse the vector values")


# ---------------------------------------------------------------------------- binary
def read_word2vec_binary(path: str | Path, *, limit: int | None = None) -> KeyedVectors:
    """Read a word2vec binary file with gensim, turning its errors into one line."""
    path = Path(path)
    try:
        return KeyedVectors.load_word2vec_format(str(path), binary=True, limit=limit)
    except UnicodeDecodeError as e:
        raise EmbeddingError(
            f"{path}: a word is not valid UTF-8 (byte 0x{e.object[e.start]:02x}); expected a "
            "word2vec binary file with UTF-8 words"
        ) from None
    except (ValueError, EOFError, OSError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EmbeddingError(f"{path}: not a valid word2vec binary file ({msg})") from None


def read_fasttext_bin(path: str | Path) -> KeyedVectors:
    """Read Facebook's fastText ``.bin`` keeping the subword vectors."""
    from gensim.models.fasttext import load_facebook_vectors

    path = Path(path)
    try:
        return load_facebook_vectors(str(path))
    except (ValueError, EOFError, OSError, NotImplementedError, AssertionError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EmbeddingError(f"{path}: not a valid fastText .bin model ({msg})") from None


def read_gensim(path: str | Path, *, mmap: bool = True) -> tuple[KeyedVectors, dict]:
    """Load gensim native vectors (file or ``Vectors.save`` directory), memory-mapped."""
    path = Path(path)
    meta: dict = {}
    file = path
    if path.is_dir():
        file = path / NATIVE_FILE
        if (path / META_FILE).exists():
            meta = json.loads((path / META_FILE).read_text())
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
