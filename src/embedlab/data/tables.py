"""Every input format, one suffix table, read in chunks: the one reader of text files.

Training (:mod:`embedlab.data.loaders`: train, evaluate, ``embeddings train`` on a table) and
prediction (:func:`read_chunks`: ``predict --file`` through :mod:`embedlab.inference.files`,
``explain --file``, ``export --texts``) both read through :func:`iter_records`, so a file gives
the same rows to both. Loading a whole
training set is "read all chunks"; prediction keeps one chunk in memory at a time.

Formats (:data:`SUFFIXES` maps a file suffix to one; a folder is ``folder``; any other file is
``lines``):

- ``csv`` — quoted fields may hold commas and newlines; ``tsv`` (``.tsv``, ``.tab``) — no quote
  handling (``"`` is an ordinary character). Every row has as many fields as the header (or, with
  ``header=False``, the first row). A blank line is an empty cell in a one-column file and no
  record otherwise.
- ``jsonl`` — one JSON object per line (blank lines skipped); ``json`` — a JSON array of
  objects (parsed one object at a time), or JSON Lines.
- ``parquet`` — read in row batches.
- ``lines`` — one text per line, split on ``\\n`` only (``\\r`` dropped); a blank line is an
  empty row, so rows stay aligned with lines.
- ``folder`` — one sub-folder per class, one text per file: columns ``file`` (relative path),
  ``label`` (the sub-folder) and ``text``.

Every error is a one-line :class:`~embedlab.errors.DataError` naming the file and the line,
row or column, with what was expected and what was found.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from embedlab.errors import ConfigError, DataError, suggest

Format = Literal["csv", "tsv", "jsonl", "json", "parquet", "lines", "folder"]
Column = str | int

#: The one suffix table: file suffix → format. Files with other suffixes are ``lines``.
SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Formats with named columns (the ones ``format=`` may name).
TABLE_FORMATS: tuple[Format, ...] = ("csv", "tsv", "jsonl", "json", "parquet")
#: Rows per chunk when streaming.
CHUNK_ROWS = 4096
#: Bytes read at a time from a JSON array.
BLOCK_BYTES = 1 << 20
#: What a data folder must look like (said by every folder error).
FOLDER_LAYOUT = ("a data folder holds one sub-folder per class, each with one text file per "
                 "example (FOLDER/<class>/<file>)")


def file_format(path: str | Path, format: str | None = None) -> Format:
    """The format of ``path``: ``format`` if given (checked), else folder, suffix or lines."""
    if format is not None:
        if format not in TABLE_FORMATS:
            raise ConfigError(
                f"unknown table format '{format}'{suggest(format, list(TABLE_FORMATS))}; "
                f"known: {', '.join(sorted(TABLE_FORMATS))}"
            )
        return format
    path = Path(path)
    if path.is_dir():
        return "folder"
    return SUFFIXES.get(path.suffix.lower(), "lines")


def table_format(path: str | Path, format: str | None = None) -> Format:
    """Like :func:`file_format` but only a table format; other suffixes are an error."""
    fmt = file_format(path, format)
    if fmt not in TABLE_FORMATS:
        suffix = Path(path).suffix.lower()
        raise DataError(
            f"{path}: cannot tell the table format from suffix '{suffix}'; expected one of "
            f"{', '.join(sorted(SUFFIXES))} or pass format=..."
        )
    return fmt


@dataclass
class Records:
    """Consecutive rows of one file, as read: column names, raw cells and where each row is.

    ``rows[i]`` is a list of cells (by position) or, for JSON, a dict (by name). ``locs[i]`` is
    the row's line in the file (CSV, TSV, JSON Lines, lines), its relative path (folder) or
    None; ``first`` is the 1-based number of the chunk's first row in the file.
    """

    kind: Format
    names: list[Column]
    rows: list[Any]
    locs: list[Any]
    first: int = 1
    source: str = ""

    def where(self, i: int) -> str:
        """Where row ``i`` of this chunk is, for messages (``row 3 (line 4)``)."""
        return place(self.kind, self.first + i, self.locs[i])

    def cell(self, i: int, key: Column) -> str:
        """Cell ``key`` (a position, or a name for JSON) of row ``i`` as text ('' if missing)."""
        row = self.rows[i]
        if isinstance(row, dict):
            value = row.get(key)
            if isinstance(value, dict | list):
                raise DataError(f"{self.source}: field {show(key)} at {self.where(i)} is a JSON "
                                f"{type(value).__name__}; expected a string or number")
        else:
            value = row[key] if isinstance(key, int) and key < len(row) else None
            if isinstance(value, dict | list | bytes):  # Parquet lists, structs, maps, binary
                name = self.names[key] if isinstance(key, int) and key < len(self.names) else key
                raise DataError(f"{self.source}: column {show(name)} at {self.where(i)} holds "
                                f"{type(value).__name__} values; expected a string or number")
        return as_text(value)

    def label_cell(self, i: int, key: Column) -> str | list[str]:
        """A label cell: text as :meth:`cell`, or a list of labels where the row holds a list
        (a JSON array, a Parquet list): the multi-label rows of JSON, JSON Lines and Parquet."""
        row = self.rows[i]
        value = row.get(key) if isinstance(row, dict) else (
            row[key] if isinstance(key, int) and key < len(row) else None)
        if isinstance(value, list):
            bad = next((v for v in value if isinstance(v, dict | list) or v is None), "")
            if bad != "":
                raise DataError(f"{self.source}: a label list at {self.where(i)} holds "
                                f"{json.dumps(bad)}; expected strings or numbers")
            return [as_text(v) for v in value]
        return self.cell(i, key)


def place(kind: Format, row: int, loc: Any) -> str:
    """How messages name a row: ``row 3 (line 4)``, ``line 4``, ``record 3``, ``file a/1.txt``."""
    if kind == "folder":
        return f"file {loc}"
    if kind == "lines":
        return f"line {loc}"
    if loc is None:
        return f"record {row}" if kind == "json" else f"row {row}"
    return f"row {row} (line {loc})"


def show(name: Column) -> str:
    """A column as messages show it: a position bare, a name quoted."""
    return str(name) if isinstance(name, int) else f"'{name}'"


def as_text(value: Any) -> str:
    """A cell as text: None/NaN → '', booleans lower-case, whole floats without '.0'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def resolve_column(source: str | Path, column: Column, names: Sequence[Column],
                   by_name: bool = True, *, json: bool = False) -> Column:
    """The key of ``column`` in a file with columns ``names``: its position, or (JSON) its name.

    A name missing from ``names`` ("did you mean"), a position out of range, a name in a file
    read without a header, or a name the header holds twice is a one-line error.
    """
    if isinstance(column, bool) or not isinstance(column, str | int):
        raise ConfigError(f"{source}: column must be a name or a position; found {column!r}")
    if isinstance(column, int):
        if not 0 <= column < len(names):
            raise DataError(
                f"{source}: column {column} out of range; the file has {len(names)} "
                f"column(s) (positions 0-{len(names) - 1})"
            )
        return names[column] if json else column
    if not by_name:
        raise DataError(
            f"{source}: column '{column}' requested but the file is read without a header; "
            f"use positions 0-{len(names) - 1} or header=True"
        )
    found = [j for j, n in enumerate(names) if n == column]
    if len(found) > 1:
        raise DataError(
            f"{source}: column '{column}' appears {len(found)} times in the header (positions "
            f"{', '.join(map(str, found))}); rename all but one so the column to read is clear"
        )
    if found:
        return column if json else found[0]
    shown = ", ".join(show(n) for n in names)
    raise DataError(
        f"{source}: no column '{column}'{suggest(column, [str(n) for n in names])}; "
        f"available: {shown}"
    )


# --------------------------------------------------------------------------- bytes and lines


def _is_latin1(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in {"latin-1", "latin1", "iso-8859-1", "l1"}


def _check_encoding(encoding: str, path: Path) -> None:
    """An unknown codec, or one that is not a text encoding (``hex``, ``zlib``), is a one-line
    error before the file is opened. (``b"".decode("nope")`` does not look the codec up, so
    one byte is decoded; a decode error of that byte is no concern here.)"""
    try:
        b"\n".decode(encoding)
    except UnicodeError:
        pass
    except (LookupError, ValueError, TypeError):
        raise ConfigError(f"{path}: unknown encoding {encoding!r}") from None


def _decode_error(path: Path, data: bytes, exc: UnicodeDecodeError, offset: int, line: int,
                  encoding: str) -> DataError:
    bad = data[exc.start: exc.start + 1].hex()
    hint = "utf-8" if _is_latin1(encoding) else "latin-1"
    return DataError(
        f"{path}: cannot decode byte 0x{bad} at byte offset {offset + exc.start} (line {line}) "
        f"as {encoding}; the file is not {encoding} — try encoding=\"{hint}\" "
        f"(--encoding {hint})"
    )


def _open_file(path: Path) -> BinaryIO:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: expected a file, found a directory")
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    head = f.read(10)
    f.seek(0)
    packed = next((name for magic, name in _PACKED.items() if head.startswith(magic)), None)
    if packed is not None and SUFFIXES.get(path.suffix.lower()) != "parquet":
        f.close()
        raise DataError(f"{path}: is {packed}, not text; extract it first (embedlab reads plain "
                        "CSV, TSV, JSON, JSON Lines, label-lines text or Parquet)")
    return f


#: Leading bytes of compressed or archive files, which no encoding turns into text.
_PACKED = {b"\x1f\x8b": "gzip-compressed", b"PK\x03\x04": "a ZIP archive (.zip, .xlsx, .docx...)",
           b"\xfd7zXZ\x00": "xz-compressed", b"\x28\xb5\x2f\xfd": "zstd-compressed",
           **{b"BZh%d1AY&SY" % level: "bzip2-compressed" for level in range(1, 10)}}


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """Return the whole file decoded, or raise a one-line :class:`DataError`.

    A missing file, a directory, or undecodable bytes (reported with byte offset, line and a
    suggested encoding) give a ``DataError``. A UTF-8 byte-order mark is dropped.
    """
    path = Path(path)
    _check_encoding(encoding, path)
    with _open_file(path) as f:
        try:
            data = f.read()
        except OSError as exc:
            raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _decode_error(path, data, exc, 0, line, encoding) from None
    return text.removeprefix("\ufeff")


def decoded_lines(path: str | Path, encoding: str = "utf-8") -> Generator[tuple[int, str], None, None]:
    """Yield ``(line number, line)`` with its ``\\n``, split on ``\\n`` only, streaming.

    Latin-1 bytes such as ``0x85`` are never taken for line breaks. A UTF-8 byte-order mark
    is dropped; undecodable bytes raise with their byte offset and line.
    """
    path = Path(path)
    _check_encoding(encoding, path)
    with _open_file(path) as f:
        offset = 0
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _decode_error(path, raw, exc, offset, lineno, encoding) from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            offset += len(raw)
            yield lineno, line


def text_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` without its ``\n`` / ``\r\n`` (blank lines kept)."""
    for lineno, line in decoded_lines(path, encoding):
        yield lineno, line.removesuffix("\n").removesuffix("\r")


# --------------------------------------------------------------------------- formats


def iter_records(path: str | Path, format: str | None = None, *, encoding: str = "utf-8",
                 header: bool = True, chunk_rows: int = CHUNK_ROWS,
                 pattern: str | None = None) -> Iterator[Records]:
    """Stream ``path`` as chunks of at most ``chunk_rows`` rows, in file order.

    ``format`` (a table format) overrides the suffix; ``header`` (CSV/TSV) says whether the
    first line names the columns (without one, columns are positions); ``pattern`` (folders)
    reads only the files matching a glob. An empty file yields no rows. CSV, TSV and Parquet
    first yield a chunk without rows naming the columns, so callers can check them before a
    row is read.
    """
    path = Path(path)
    fmt = file_format(path, format)
    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be at least 1, found {chunk_rows}")
    if fmt in ("csv", "tsv"):
        chunks = _delimited(path, fmt, encoding, header, chunk_rows)
    elif fmt in ("json", "jsonl"):
        chunks = _json(path, fmt, encoding, chunk_rows)
    elif fmt == "parquet":
        chunks = _parquet(path, chunk_rows)
    elif fmt == "folder":
        chunks = _folder(path, encoding, pattern, chunk_rows)
    else:
        chunks = _lines(path, encoding, chunk_rows)
    return _from(str(path), chunks)


def _from(source: str, chunks: Iterator[Records]) -> Iterator[Records]:
    for chunk in chunks:
        chunk.source = source
        yield chunk


def _chunks(kind: Format, names: list[Column], rows: Iterator[tuple[Any, Any]],
            chunk_rows: int) -> Iterator[Records]:
    """Group ``(row, loc)`` pairs into :class:`Records` of ``chunk_rows``."""
    chunk = Records(kind, names, [], [])
    for row, loc in rows:
        chunk.rows.append(row)
        chunk.locs.append(loc)
        if len(chunk.rows) == chunk_rows:
            yield chunk
            chunk = Records(kind, names, [], [], chunk.first + chunk_rows)
    if chunk.rows:
        yield chunk


def _lines(path: Path, encoding: str, chunk_rows: int) -> Iterator[Records]:
    rows = (([line], n) for n, line in text_lines(path, encoding))
    return _chunks("lines", ["text"], rows, chunk_rows)


def _delimited(path: Path, fmt: Format, encoding: str, header: bool,
               chunk_rows: int) -> Iterator[Records]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long documents: no 128 KiB cap
    kind = fmt.upper()
    lines = (line for _, line in decoded_lines(path, encoding))
    if fmt == "tsv":
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        hint = "a tab inside a text splits it in two"
    else:
        reader = csv.reader(lines, strict=True)
        hint = "an unquoted comma inside a text splits it in two"

    def records() -> Iterator[tuple[list[str], int]]:
        start = 1
        try:
            for record in reader:
                yield record, start
                start = reader.line_num + 1
        except csv.Error as exc:
            raise DataError(f"{path}: malformed {kind} at line {max(reader.line_num, 1)} "
                            f"({exc})") from None

    it = records()
    first = next((r for r in it if r[0]), None)  # blank lines before the header are no rows
    if first is None:
        return
    width = len(first[0])
    what = "the header has" if header else "the first row has"
    names: list[Column] = list(first[0]) if header else list(range(width))
    yield Records(fmt, names, [], [])  # the columns, checked by callers before any row is read

    def rows() -> Iterator[tuple[list[str], int]]:
        if not header:
            yield first
        for record, line in it:
            if not record:  # a blank line: an empty cell in a one-column file, else no record
                if width != 1:
                    continue
                record = [""]
            if len(record) != width:
                why = hint if len(record) > width else "a field is missing"
                raise DataError(
                    f"{path}: line {line} has {len(record)} field(s) but {what} {width}; every "
                    f"row needs exactly {width} ({why})"
                )
            yield record, line

    yield from _chunks(fmt, names, rows(), chunk_rows)


def _object(path: Path, where: str | Callable[[], str]) -> Any:
    """``object_pairs_hook`` refusing a key written twice (json keeps the last one silently)."""
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                at = where if isinstance(where, str) else where()
                raise DataError(f"{path}: key '{key}' appears twice in one object at {at}; "
                                "expected each field once")
            out[key] = value
        return out
    return hook


def _json(path: Path, fmt: Format, encoding: str, chunk_rows: int) -> Iterator[Records]:
    lines = decoded_lines(path, encoding)
    first = next(((n, line) for n, line in lines if line.strip()), None)
    if first is None:
        return
    if fmt == "json" and first[1].lstrip().startswith("["):
        lines.close()
        yield from _json_chunks("json", _JsonArray(path, encoding).items(), chunk_rows)
        return

    def objects() -> Iterator[tuple[dict[str, Any], int]]:
        for lineno, line in _prepend(first, lines):
            if not line.strip():
                continue
            try:
                record = json.loads(line, object_pairs_hook=_object(path, f"line {lineno}"))
            except json.JSONDecodeError as exc:
                hint = (" (a JSON array must be in a .json file)"
                        if lineno == first[0] and line.lstrip().startswith("[") else "")
                raise DataError(
                    f"{path}: invalid JSON on line {lineno} column {exc.colno} ({exc.msg}); "
                    f"expected one JSON object per line{hint}"
                ) from None
            if not isinstance(record, dict):
                raise DataError(f"{path}: expected a JSON object at line {lineno}; found "
                                f"{type(record).__name__}")
            yield record, lineno

    yield from _json_chunks(fmt, objects(), chunk_rows)


def _prepend(first: tuple[int, str], rest: Iterator[tuple[int, str]]
             ) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


def _text_blocks(path: Path, encoding: str) -> Iterator[str]:
    """The file decoded in blocks of :data:`BLOCK_BYTES` (bad bytes named by offset and line: that
    error path alone reads the whole file again)."""
    _check_encoding(encoding, path)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with _open_file(path) as f:
        while True:
            raw = f.read(BLOCK_BYTES)
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError:
                read_text(path, encoding)  # raises the message naming byte offset and line
                raise
            if offset == 0:
                text = text.removeprefix("\ufeff")
            offset += len(raw)
            if text:
                yield text
            if not raw:
                return


class _JsonArray:
    """A top-level JSON array of objects, parsed one object at a time from blocks of text."""

    def __init__(self, path: Path, encoding: str) -> None:
        self.path = path
        self.blocks = _text_blocks(path, encoding)
        self.buf, self.pos = "", 0
        self.line, self.counted = 1, 0  # ``line`` is the line of ``buf[counted]``
        self.number = 0  # objects read so far
        self.decoder = json.JSONDecoder(object_pairs_hook=_object(
            path, lambda: f"record {self.number + 1} (line {self.where()})"))

    def fill(self) -> bool:
        """Append the next block, dropping what is parsed; False at the end of the file."""
        block = next(self.blocks, None)
        if block is None:
            return False
        self.where()
        self.buf, self.pos, self.counted = self.buf[self.pos:] + block, 0, 0
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos].isspace():
                self.pos += 1
            if self.pos < len(self.buf) or not self.fill():
                return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def where(self) -> int:
        """The line of ``buf[pos]``."""
        self.line += self.buf.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.line

    def invalid(self, msg: str) -> DataError:
        return DataError(f"{self.path}: invalid JSON at line {self.where()} ({msg}); expected a "
                         "JSON array of objects")

    def one(self) -> tuple[Any, int]:
        """The next value and its line, reading more blocks until it is complete."""
        self.peek()
        at = self.where()
        while True:
            try:
                value, self.pos = self.decoder.raw_decode(self.buf, self.pos)
                return value, at
            except json.JSONDecodeError as exc:
                if not self.fill():
                    self.pos = exc.pos
                    raise self.invalid(exc.msg) from None

    def items(self) -> Iterator[tuple[dict[str, Any], int]]:
        if self.peek() != "[":
            raise self.invalid("expected '['")
        self.pos += 1
        done = self.peek() == "]"
        self.pos += done
        while not done:
            record, at = self.one()
            self.number += 1
            if not isinstance(record, dict):
                raise DataError(f"{self.path}: expected a JSON object at record {self.number} "
                                f"(line {at}); found {type(record).__name__}")
            yield record, at
            following = self.peek()
            if following not in (",", "]"):
                raise self.invalid("expected ',' or ']' after a record")
            self.pos += 1
            done = following == "]"
        if self.peek():
            raise self.invalid("extra data after the array")


def _json_chunks(kind: Format, objects: Iterator[tuple[dict[str, Any], Any]],
                 chunk_rows: int) -> Iterator[Records]:
    """Chunks of JSON objects; a chunk's names are the keys seen so far, in first-seen order."""
    seen: dict[Column, None] = {}
    for chunk in _chunks(kind, [], objects, chunk_rows):
        for row in chunk.rows:
            seen.update(dict.fromkeys(row))
        chunk.names = list(seen)
        yield chunk


def _parquet(path: Path, chunk_rows: int) -> Iterator[Records]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _open_file(path).close()  # existence and readability checks with the standard messages
    try:
        pf = pq.ParquetFile(path)
        names: list[Column] = list(pf.schema_arrow.names)
        yield Records("parquet", names, [], [])  # the columns, before any row is read
        first = 1
        for batch in pf.iter_batches(batch_size=chunk_rows):
            columns = [batch.column(j).to_pylist() for j in range(batch.num_columns)]
            rows = [list(r) for r in zip(*columns, strict=True)]
            yield Records("parquet", names, rows, [None] * len(rows), first)
            first += len(rows)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({' '.join(str(exc).split())})"
                        ) from None


def _folder(root: Path, encoding: str, pattern: str | None,
            chunk_rows: int) -> Iterator[Records]:
    """Rows ``[file, label, text]`` of a class-folder tree, in sorted order."""
    if pattern is not None and not pattern.strip():
        raise ConfigError("pattern is empty; expected a glob such as '*.txt' (or None for "
                          "every file)")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(f"{root}: no class sub-folders; {FOLDER_LAYOUT}")
    what = "files" if pattern is None else f"files matching '{pattern}'"
    files: list[tuple[Path, str]] = []
    for class_dir in class_dirs:
        found = _class_files(class_dir, pattern)
        if not found:
            raise DataError(f"{class_dir}: no {what} for class '{class_dir.name}' (hidden "
                            "files are skipped)")
        files += [(file, class_dir.name) for file in found]

    def rows() -> Iterator[tuple[list[str], str]]:
        for file, label in files:
            rel = file.relative_to(root).as_posix()
            yield [rel, label, _folder_text(root, file, encoding)], rel

    return _chunks("folder", ["file", "label", "text"], rows(), chunk_rows)


def _folder_text(root: Path, file: Path, encoding: str) -> str:
    """One example file's text; a binary file (an image, say) is refused saying why."""
    leave_out = "leave other files out with pattern='*.txt' (--set data.pattern='*.txt')"
    with _open_file(file) as f:
        head = f.read(8192)
    nul = head.find(b"\x00")
    if nul >= 0:
        raise DataError(f"{file}: not a text file (a NUL byte at offset {nul}); "
                        f"{FOLDER_LAYOUT} — {leave_out}")
    try:
        return read_text(file, encoding)
    except DataError as exc:
        if "cannot decode" not in str(exc):
            raise
        raise DataError(f"{exc}; {FOLDER_LAYOUT} — {leave_out}") from None


def _class_files(class_dir: Path, pattern: str | None) -> list[Path]:
    """Regular, non-hidden files directly in ``class_dir`` (matching ``pattern``), sorted."""
    try:
        candidates = class_dir.iterdir() if pattern is None else class_dir.glob(pattern)
        return sorted(p for p in candidates if p.parent == class_dir
                      and not p.name.startswith(".") and p.is_file())
    except ValueError as exc:  # e.g. an absolute or malformed glob
        raise ConfigError(f"invalid pattern {pattern!r}: {exc}") from None


# --------------------------------------------------------------------------- texts to predict


@dataclass
class Chunk:
    """Consecutive input rows: their ids (pass-through values or row numbers) and texts."""

    ids: list[Any]
    texts: list[str]


def read_chunks(path: str | Path, text_columns: Sequence[Column] = ("text",),
                id_column: Column | None = None, encoding: str = "utf-8",
                chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Stream the texts of ``path`` (any format) in chunks, for prediction.

    Every row gives one text, in file order (an empty text stays an empty row). One text column
    is passed as is; several are joined with one space, skipping blank parts. Ids are the
    ``id_column`` values, or 1-based row numbers. A lines file ignores ``text_columns``.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    fmt = file_format(path)
    if fmt == "lines" and id_column is not None:
        raise ConfigError(f"{path}: --id-column needs a table (CSV, TSV, JSON, JSONL, Parquet) "
                          "or a folder; a one-text-per-line file is numbered by line")
    columns = list(text_columns) if fmt != "lines" else ["text"]
    if not columns:
        raise ConfigError(f"{path}: text_columns is empty; expected at least one column")
    keys: list[Column] | None = None
    id_key: Column | None = None
    for rec in iter_records(path, encoding=encoding, chunk_rows=chunk_rows):
        if keys is None:
            json_rows = fmt in ("json", "jsonl")
            keys = [resolve_column(path, c, rec.names, json=json_rows) for c in columns]
            if id_column is not None:
                id_key = resolve_column(path, id_column, rec.names, json=json_rows)
        if not rec.rows:
            continue
        texts = [_join(rec, i, keys) for i in range(len(rec.rows))]
        if id_key is None:
            ids: list[Any] = list(range(rec.first, rec.first + len(texts)))
        else:
            ids = [_raw(row, id_key) for row in rec.rows]
        yield Chunk(ids, texts)


def _raw(row: Any, key: Column) -> Any:
    if isinstance(row, dict):
        return row.get(key)
    return row[key] if isinstance(key, int) and key < len(row) else None


def _join(rec: Records, i: int, keys: list[Column]) -> str:
    if len(keys) == 1:
        return rec.cell(i, keys[0])
    return " ".join(p for p in (rec.cell(i, k).strip() for k in keys) if p)


def parquet_rows(path: str | Path) -> int | None:
    """Row count from a Parquet footer (for a progress total), None for other formats."""
    if file_format(path) != "parquet" or Path(path).is_dir():
        return None
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - the reader reports a bad file with a clear error
        return None
