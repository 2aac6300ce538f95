"""Read labelled texts from files: tables, class folders and line files.

Every loader returns a :class:`~embedlab.data.dataset.TextDataset` or raises
:class:`~embedlab.errors.DataError` with one line naming the file and, where it applies, the
row, line or column. Nothing is returned partially.

Common rules
------------
- Texts are stripped of leading/trailing whitespace. Rows whose text is empty or only
  whitespace are dropped with a warning (``empty="skip"``, logged on the ``"embedlab"``
  logger) or rejected (``empty="error"``, naming the first such row).
- Labels are strings (class names). An empty label is always an error.
- Without a label source (``label_column=None``) the dataset has ``labels == []``.
- Undecodable bytes are reported with their byte offset and line, with a suggested encoding.
- Line files are split on ``\\n`` only (``\\r`` is stripped), so Latin-1 bytes such as
  ``0x85`` are never taken for line breaks.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from embedlab.data.dataset import TextDataset
from embedlab.errors import ConfigError, DataError, suggest

logger = logging.getLogger("embedlab")

EmptyPolicy = Literal["skip", "error"]
TableFormat = Literal["csv", "tsv", "jsonl", "json", "parquet"]
LabelMap = Mapping[str, str] | Callable[[str], str] | None
Column = str | int

#: File suffix → table format used by :func:`load_table` when ``format`` is None.
TABLE_SUFFIXES: dict[str, TableFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}


# --------------------------------------------------------------------------- reading bytes


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """Return the whole file decoded, or raise a one-line :class:`DataError`.

    A missing file, a directory, or undecodable bytes (reported with byte offset, line and a
    suggested encoding) give a ``DataError``. A UTF-8 byte-order mark is dropped.
    """
    path = Path(path)
    data = _read_bytes(path)
    try:
        text = data.decode(encoding)
    except LookupError:
        raise ConfigError(f"{path}: unknown encoding '{encoding}'") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        hint = "utf-8" if _is_latin1(encoding) else "latin-1"
        raise DataError(
            f"{path}: cannot decode byte 0x{bad} at byte offset {exc.start} (line {line}) as "
            f"{encoding}; the file is not {encoding} — try encoding=\"{hint}\""
        ) from None
    return text.removeprefix("\ufeff")


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: expected a file, found a directory")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None


def _is_latin1(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in {"latin-1", "latin1", "iso-8859-1", "l1"}


def _split_lines(text: str) -> list[str]:
    """Split on ``\\n`` only; drop ``\\r`` and a final empty line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


# --------------------------------------------------------------------------- shared checks


def _finish(
    source: str,
    texts: list[str],
    labels: list[str] | None,
    where: Callable[[int], str],
    *,
    empty: EmptyPolicy,
    label_what: str = "label",
) -> TextDataset:
    """Validate rows (empty labels, empty texts) and build the dataset."""
    if empty not in ("skip", "error"):
        raise ConfigError(f"empty must be 'skip' or 'error'; found '{empty}'")
    if not texts:
        raise DataError(f"{source}: no rows (empty file); expected at least one text")
    if labels is not None:
        for i, label in enumerate(labels):
            if not label:
                raise DataError(
                    f"{source}: empty {label_what} at {where(i)}; every row needs a label"
                )
    stripped = [t.strip() for t in texts]
    bad = [i for i, t in enumerate(stripped) if not t]
    if bad:
        if empty == "error":
            raise DataError(
                f"{source}: empty text at {where(bad[0])} ({len(bad)} empty in all); "
                "expected non-blank text (use empty='skip' to drop such rows)"
            )
        if len(bad) == len(stripped):
            raise DataError(f"{source}: every text is empty ({len(bad)} rows); expected text")
        logger.warning(
            "%s: skipped %d row(s) with empty text (first at %s)", source, len(bad), where(bad[0])
        )
        keep = set(range(len(stripped))) - set(bad)
        order = sorted(keep)
        stripped = [stripped[i] for i in order]
        labels = [labels[i] for i in order] if labels is not None else None
    return TextDataset(stripped, labels if labels is not None else [], source)


def _apply_label_map(
    source: str, labels: list[str], label_map: LabelMap, where: Callable[[int], str]
) -> list[str]:
    if label_map is None:
        return labels
    out: list[str] = []
    for i, label in enumerate(labels):
        if not label:
            out.append(label)  # reported as empty by _finish
            continue
        if callable(label_map):
            mapped = label_map(label)
        else:
            if label not in label_map:
                known = ", ".join(sorted(label_map))
                raise DataError(
                    f"{source}: unknown label '{label}' at {where(i)}; expected one of: {known}"
                )
            mapped = label_map[label]
        out.append(str(mapped))
    return out


# --------------------------------------------------------------------------- tables


def load_table(
    path: str | Path,
    text_columns: Sequence[Column] | Column,
    label_column: Column | None,
    *,
    format: TableFormat | None = None,
    encoding: str = "utf-8",
    empty: EmptyPolicy = "skip",
    header: bool = True,
    label_map: LabelMap = None,
) -> TextDataset:
    """Load a CSV, TSV, JSON Lines, JSON array or Parquet table.

    Parameters
    ----------
    path:
        The table file.
    text_columns:
        Column name(s) or 0-based position(s) holding the text. Several columns are joined
        with one space, skipping missing or blank parts (e.g. AG News title + description).
    label_column:
        Column holding the class name, or ``None`` for unlabelled data (prediction time):
        the result then has ``labels == []``.
    format:
        ``"csv"``, ``"tsv"``, ``"jsonl"``, ``"json"`` (array of objects, or JSON Lines) or
        ``"parquet"``; ``None`` picks it from the suffix (see :data:`TABLE_SUFFIXES`;
        ``.txt`` is read as TSV).
    encoding:
        Text encoding (not used for Parquet).
    empty:
        ``"skip"`` drops rows with blank text (logging a warning with the count);
        ``"error"`` raises on the first one.
    header:
        CSV/TSV only: whether the first line names the columns. Without a header, columns
        are addressed by position (AG News: 0 = label, 1 = title, 2 = description).
    label_map:
        Optional mapping or function from raw label to class name (e.g. ``{"1": "World"}``).
        With a mapping, a raw label missing from it is an error.

    Notes
    -----
    Every cell is read as a string: ``"NA"``, ``"null"`` or ``"0"`` stay text. TSV is read
    without quote handling (``"`` is an ordinary character, as in GLUE-style TSV files); a
    quoted CSV field may hold commas and newlines. Every CSV/TSV row must have as many fields
    as the header (or the first row): a row with more or fewer is an error naming its line.
    Blank lines are skipped. Messages name the data row (from 1) and its line in the file.

    Examples
    --------
    >>> ds = load_table("news.csv", [1, 2], 0, header=False)  # doctest: +SKIP
    """
    path = Path(path)
    fmt = _table_format(path, format)
    columns = [text_columns] if isinstance(text_columns, str | int) else list(text_columns)
    if not columns:
        raise ConfigError(f"{path}: text_columns is empty; expected at least one column")
    source = str(path)

    if fmt in ("csv", "tsv"):
        names, rows, where = _read_delimited(path, fmt, encoding, header)
    elif fmt in ("jsonl", "json"):
        names, rows, where = _read_json(path, fmt, encoding)
    else:
        names, rows, where = _read_parquet(path)
    if not rows:
        raise DataError(f"{path}: no rows (empty file); expected at least one {fmt} record")

    text_idx = [_resolve_column(source, c, names, header or fmt not in ("csv", "tsv"))
                for c in columns]
    label_idx = (
        None
        if label_column is None
        else _resolve_column(source, label_column, names, header or fmt not in ("csv", "tsv"))
    )
    texts = [
        " ".join(part.strip() for part in (_cell(row, j) for j in text_idx) if part.strip())
        for row in rows
    ]
    labels = None
    if label_idx is not None:
        labels = [_cell(row, label_idx).strip() for row in rows]
        labels = _apply_label_map(source, labels, label_map, where)
    label_what = f"label (column {_show(names[label_idx])})" if label_idx is not None else ""
    return _finish(source, texts, labels, where, empty=empty, label_what=label_what)


def _table_format(path: Path, format: str | None) -> TableFormat:
    if format is not None:
        if format not in ("csv", "tsv", "jsonl", "json", "parquet"):
            raise ConfigError(
                f"unknown table format '{format}'"
                f"{suggest(format, ['csv', 'tsv', 'jsonl', 'json', 'parquet'])}; "
                "known: csv, json, jsonl, parquet, tsv"
            )
        return format  # type: ignore[return-value]
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return "tsv"
    if suffix not in TABLE_SUFFIXES:
        raise DataError(
            f"{path}: cannot tell the table format from suffix '{suffix}'; expected one of "
            f"{', '.join(sorted(TABLE_SUFFIXES))} or pass format=..."
        )
    return TABLE_SUFFIXES[suffix]


def _show(name: Column) -> str:
    return str(name) if isinstance(name, int) else f"'{name}'"


def _cell(row: Sequence[Any], j: int) -> str:
    value = row[j] if j < len(row) else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _resolve_column(source: str, column: Column, names: list[Column], by_name: bool) -> int:
    """Map a column name or position to its index in ``names``."""
    if isinstance(column, bool) or not isinstance(column, str | int):
        raise ConfigError(f"{source}: column must be a name or a position; found {column!r}")
    if isinstance(column, int):
        if not 0 <= column < len(names):
            raise DataError(
                f"{source}: column {column} out of range; the file has {len(names)} "
                f"column(s) (positions 0-{len(names) - 1})"
            )
        return column
    if not by_name:
        raise DataError(
            f"{source}: column '{column}' requested but the file is read without a header; "
            f"use positions 0-{len(names) - 1} or header=True"
        )
    if column in names:
        return names.index(column)
    shown = ", ".join(_show(n) for n in names)
    raise DataError(
        f"{source}: no column '{column}'{suggest(column, [str(n) for n in names])}; "
        f"available: {shown}"
    )


@contextlib.contextmanager
def _no_field_size_limit() -> Iterator[None]:
    """Lift the csv module's 128 KiB cap on one field (long documents), then restore it."""
    previous = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_delimited(
    path: Path, fmt: str, encoding: str, header: bool
) -> tuple[list[Column], list[list[Any]], Callable[[int], str]]:
    """Read CSV (quoted fields may hold newlines) or TSV (no quoting), every cell a string.

    Every row must have as many fields as the header (or, without a header, the first row):
    a row with one field more would otherwise shift the columns silently.
    """
    text = read_text(path, encoding)
    if not text.strip():
        raise DataError(f"{path}: no rows (empty file); expected {fmt.upper()} data")
    kind = fmt.upper()
    if fmt == "tsv":
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t",
                            quoting=csv.QUOTE_NONE)
        hint = "a tab inside a text splits it in two"
    else:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        hint = "an unquoted comma inside a text splits it in two"
    records: list[list[str]] = []
    lines: list[int] = []
    start = 1
    with _no_field_size_limit():
        try:
            for record in reader:
                if record:  # a blank line gives []
                    records.append(record)
                    lines.append(start)
                start = reader.line_num + 1
        except csv.Error as exc:
            raise DataError(
                f"{path}: malformed {kind} at line {reader.line_num} ({exc})"
            ) from None
    if not records:
        raise DataError(f"{path}: no rows (empty file); expected {kind} data")
    width = len(records[0])
    for record, line in zip(records, lines, strict=True):
        if len(record) != width:
            what = "the header has" if header else "the first row has"
            why = hint if len(record) > width else "a field is missing"
            raise DataError(
                f"{path}: line {line} has {len(record)} field(s) but {what} {width}; every "
                f"row needs exactly {width} ({why})"
            )
    if header:
        names: list[Column] = list(records[0])
        rows: list[list[Any]] = records[1:]
        lines = lines[1:]
    else:
        names = list(range(width))
        rows = records

    def where(i: int) -> str:
        return f"row {i + 1} (line {lines[i]})"

    return names, rows, where


def _read_json(
    path: Path, fmt: str, encoding: str
) -> tuple[list[Column], list[list[Any]], Callable[[int], str]]:
    text = read_text(path, encoding)
    records: list[Any] = []
    line_numbers: list[int] = []
    if fmt == "json" and text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
            ) from None
        line_numbers = []
    else:
        for lineno, line in enumerate(_split_lines(text), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}: invalid JSON on line {lineno} column {exc.colno} ({exc.msg}); "
                    "expected one JSON object per line"
                ) from None
            line_numbers.append(lineno)
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            at = f"line {line_numbers[i]}" if line_numbers else f"record {i + 1}"
            raise DataError(
                f"{path}: expected a JSON object at {at}; found {type(record).__name__}"
            )
    names: list[Column] = list(dict.fromkeys(k for record in records for k in record))
    rows = [[record.get(n) for n in names] for record in records]
    for i, row in enumerate(rows):
        for n, value in zip(names, row, strict=True):
            if isinstance(value, dict | list):
                at = f"line {line_numbers[i]}" if line_numbers else f"record {i + 1}"
                raise DataError(
                    f"{path}: field '{n}' at {at} is a JSON {type(value).__name__}; "
                    "expected a string or number"
                )

    def where(i: int) -> str:
        return f"row {i + 1} (line {line_numbers[i]})" if line_numbers else f"record {i + 1}"

    return names, rows, where


def _read_parquet(path: Path) -> tuple[list[Column], list[list[Any]], Callable[[int], str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _read_bytes(path)  # existence and readability checks with the standard messages
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        detail = " ".join(str(exc).split())
        raise DataError(f"{path}: not a readable Parquet file ({detail})") from None
    names: list[Column] = list(table.column_names)
    columns = [table.column(n).to_pylist() for n in table.column_names]
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []

    def where(i: int) -> str:
        return f"row {i + 1}"

    return names, rows, where


# --------------------------------------------------------------------------- folders


def load_folder(
    path: str | Path,
    *,
    encoding: str = "utf-8",
    pattern: str | None = None,
    empty: EmptyPolicy = "skip",
) -> TextDataset:
    """Load one text per file from one sub-folder per class (``path/<class>/<file>``).

    The layout of scikit-learn's ``load_files`` and of the 20 Newsgroups distribution.

    Parameters
    ----------
    path:
        The folder holding one sub-folder per class; class names are the sub-folder names.
    encoding:
        Encoding of every file (20 Newsgroups needs ``"latin-1"``).
    pattern:
        ``None`` reads every regular file of each class folder, whatever its extension (or
        none); a glob such as ``"*.txt"`` reads only the files it matches.
    empty:
        ``"skip"`` drops files with blank text (logged), ``"error"`` names the first one.

    Notes
    -----
    Hidden files and folders (names starting with ``.``) are skipped, and so are
    sub-folders of a class folder. Every file is one text, whatever its extension: a
    ``.csv`` file inside a class folder is read as plain text, not as a table (load a
    table by passing its own path, or leave such files out with ``pattern``). Files are
    read in sorted order. A class folder without matching files is an error.
    """
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: folder not found")
    if not root.is_dir():
        raise DataError(f"{root}: expected a folder with one sub-folder per class; found a file")
    if pattern is not None and not pattern.strip():
        raise ConfigError("pattern is empty; expected a glob such as '*.txt' (or None for "
                          "every file)")
    what = "files" if pattern is None else f"files matching '{pattern}'"
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(
            f"{root}: no class sub-folders; expected one sub-folder per class holding text files"
        )
    texts: list[str] = []
    labels: list[str] = []
    files: list[Path] = []
    for class_dir in class_dirs:
        found = _class_files(class_dir, pattern)
        if not found:
            raise DataError(f"{class_dir}: no {what} for class '{class_dir.name}' (hidden "
                            "files are skipped)")
        for file in found:
            texts.append(read_text(file, encoding))
            labels.append(class_dir.name)
            files.append(file)

    def where(i: int) -> str:
        return f"file {files[i].relative_to(root)}"

    return _finish(str(root), texts, labels, where, empty=empty)


def _class_files(class_dir: Path, pattern: str | None) -> list[Path]:
    """Regular, non-hidden files directly in ``class_dir`` (matching ``pattern``), sorted."""
    try:
        candidates = class_dir.iterdir() if pattern is None else class_dir.glob(pattern)
        return sorted(p for p in candidates if p.parent == class_dir
                      and not p.name.startswith(".") and p.is_file())
    except ValueError as exc:  # e.g. an absolute or malformed glob
        raise ConfigError(f"invalid pattern {pattern!r}: {exc}") from None


# --------------------------------------------------------------------------- line files


def load_label_lines(
    path: str | Path,
    *,
    encoding: str = "utf-8",
    label_regex: str = r"^(\S+)\s+(.*)$",
    label_map: LabelMap = None,
    empty: EmptyPolicy = "skip",
) -> TextDataset:
    """Load ``LABEL text`` lines (SST ``stsa.*``, TREC ``COARSE:fine question``).

    Parameters
    ----------
    label_regex:
        Pattern with two groups, label then text, matched against each line.
        TREC coarse classes: ``r"^([^:\\s]+):\\S*\\s+(.*)$"``, or keep the default and pass
        ``label_map=lambda s: s.split(":")[0]``.
    label_map:
        Mapping or function from raw label to class name (e.g. ``{"0": "negative"}``).
        With a mapping, an unknown raw label is an error naming the line.

    Blank lines are ignored. A non-blank line the pattern does not match is an error.
    """
    path = Path(path)
    try:
        pattern = re.compile(label_regex)
    except re.error as exc:
        raise ConfigError(f"invalid label_regex {label_regex!r}: {exc}") from None
    if pattern.groups < 2:
        raise ConfigError(
            f"label_regex {label_regex!r} has {pattern.groups} group(s); expected 2 (label, text)"
        )
    texts: list[str] = []
    labels: list[str] = []
    line_numbers: list[int] = []
    for lineno, line in enumerate(_split_lines(read_text(path, encoding)), start=1):
        if not line.strip():
            continue
        match = pattern.match(line)
        if match is None:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise DataError(
                f"{path}: line {lineno} does not match 'LABEL text' (pattern {label_regex!r}); "
                f"found {shown!r}"
            )
        labels.append(match.group(1).strip())
        texts.append(match.group(2))
        line_numbers.append(lineno)

    def where(i: int) -> str:
        return f"line {line_numbers[i]}"

    labels = _apply_label_map(str(path), labels, label_map, where)
    return _finish(str(path), texts, labels, where, empty=empty)


def load_lines(
    path: str | Path,
    label: str | None,
    encoding: str = "utf-8",
    *,
    empty: EmptyPolicy = "skip",
) -> TextDataset:
    """Load one text per line; every line gets ``label`` (MR, SUBJ: the class is the file).

    ``label=None`` gives unlabelled texts (``labels == []``), e.g. for prediction.
    Blank lines are dropped (with a warning) or rejected according to ``empty``.
    """
    path = Path(path)
    if label is not None and not str(label).strip():
        raise ConfigError(f"{path}: label is empty; expected a class name")
    texts = _split_lines(read_text(path, encoding))

    def where(i: int) -> str:
        return f"line {i + 1}"

    labels = [str(label)] * len(texts) if label is not None else None
    return _finish(str(path), texts, labels, where, empty=empty)


def read_text_lines(path: str | Path, *, encoding: str = "utf-8") -> list[str]:
    """Return the non-blank lines of a one-text-per-line file, stripped (for prediction).

    Blank lines are dropped with a warning; an empty file or bad bytes raise ``DataError``.
    """
    return load_lines(path, None, encoding).texts


# --------------------------------------------------------------------------- dispatcher


def load_data(
    path: str | Path,
    text_columns: Sequence[Column] | Column = "text",
    label_column: Column | None = "label",
    *,
    label: str | None = None,
    format: TableFormat | None = None,
    encoding: str = "utf-8",
    empty: EmptyPolicy = "skip",
    header: bool = True,
    label_map: LabelMap = None,
    label_regex: str = r"^(\S+)\s+(.*)$",
    pattern: str | None = None,
) -> TextDataset:
    """Load labelled texts from ``path``, choosing the loader from what the path is.

    - a folder → :func:`load_folder` (one sub-folder per class, one text per file; every
      non-hidden file, or those matching ``pattern``);
    - a table (``format`` given, or suffix ``.csv .tsv .jsonl .json .parquet``) →
      :func:`load_table` with ``text_columns`` / ``label_column``;
    - ``label`` given → :func:`load_lines` (one text per line, all of class ``label``);
    - anything else → :func:`load_label_lines` (``LABEL text`` per line).
    """
    p = Path(path)
    if p.is_dir():
        return load_folder(p, encoding=encoding, pattern=pattern, empty=empty)
    if format is not None or p.suffix.lower() in TABLE_SUFFIXES:
        return load_table(
            p,
            text_columns,
            label_column,
            format=format,
            encoding=encoding,
            empty=empty,
            header=header,
            label_map=label_map,
        )
    if label is not None:
        return load_lines(p, label, encoding, empty=empty)
    return load_label_lines(
        p, encoding=encoding, label_regex=label_regex, label_map=label_map, empty=empty
    )
