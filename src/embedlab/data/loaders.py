"""Labelled texts from files: tables, class folders and line files, as data sets.

Files are parsed by :mod:`embedlab.data.tables` (the one reader, shared with prediction);
this module adds labels, label maps and the empty-text policy. Every loader returns a :class:`~embedlab.data.dataset.TextDataset` or raises
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

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from embedlab.data.dataset import TextDataset
from embedlab.data.tables import (
    SUFFIXES,
    TABLE_FORMATS,
    Column,
    file_format,
    iter_records,
    read_text,
    resolve_column,
    show,
    table_format,
    text_lines,
)
from embedlab.errors import ConfigError, DataError

logger = logging.getLogger("embedlab")

EmptyPolicy = Literal["skip", "error"]
#: fastText's label prefix (``__label__a __label__b text``)
FASTTEXT_PREFIX = "__label__"
TableFormat = Literal["csv", "tsv", "jsonl", "json", "parquet"]
LabelMap = Mapping[str, str] | Callable[[str], str] | None

#: The one suffix table, :data:`embedlab.data.tables.SUFFIXES` (this name is kept for callers).
TABLE_SUFFIXES = SUFFIXES
__all__ = ["TABLE_SUFFIXES", "load_data", "load_folder", "load_indexed_lines", "load_label_lines",
           "load_lines", "load_table", "read_text", "read_text_lines"]


# --------------------------------------------------------------------------- shared checks


def _finish(
    source: str,
    texts: list[str],
    labels: list[str] | None,
    where: Callable[[int], str],
    *,
    empty: EmptyPolicy,
    label_what: str = "label",
    label_sets: list[list[str]] | None = None,
) -> TextDataset:
    """Validate rows (empty labels, empty texts) and build the dataset (multi-label when
    ``label_sets`` is given: ``labels`` is then None)."""
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
        label_sets = [label_sets[i] for i in order] if label_sets is not None else None
    return TextDataset(stripped, labels if labels is not None else [], source,
                       label_sets=label_sets)


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


# --------------------------------------------------------------------------- multi-label


def label_names_map(path: str | Path, encoding: str = "utf-8") -> dict[str, str]:
    """Label ids to names from a names file, line *k* (0-based) naming id *k* (GoEmotions'
    ``emotions.txt``); a blank or repeated name is an error."""
    names = [line.strip() for _, line in text_lines(path, encoding)]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise DataError(f"{path}: no label names; expected one name per line (line k names id k)")
    for k, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: line {k + 1} is blank; expected a name for label id {k}")
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise DataError(f"{path}: label name '{dup}' appears twice; expected distinct names")
    return {str(k): name for k, name in enumerate(names)}


def hierarchy_path(label: str, sep: str) -> list[str]:
    """``LOC:city`` with ``sep=":"`` → ``["LOC", "LOC:city"]``: a label and its ancestors, each
    named by its whole path (so ``ENTY:other`` and ``LOC:other`` are different labels)."""
    parts = label.split(sep)
    if not all(p.strip() for p in parts):
        raise DataError(f"label {label!r} has an empty level between the hierarchy separators "
                        f"{sep!r}; expected e.g. 'LOC{sep}city'")
    return [sep.join(parts[:k]) for k in range(1, len(parts) + 1)]


def check_label_options(label_sep: str | None, label_hierarchy: str | None,
                        multilabel: bool | None) -> None:
    """The separators must be non-empty and differ; ``multilabel=False`` refuses both."""
    for name, sep in (("label_sep", label_sep), ("label_hierarchy", label_hierarchy)):
        if sep is not None and sep == "":
            raise ConfigError(f"{name} is empty; expected a separator such as ','")
    if label_sep is not None and label_sep == label_hierarchy:
        raise ConfigError(f"label_sep and label_hierarchy are both {label_sep!r}: one separator "
                          "cannot split a row's labels and a label's levels; give two different")
    for name, sep in (("label_sep", label_sep), ("label_hierarchy", label_hierarchy)):
        if multilabel is False and sep is not None:
            raise ConfigError(f"{name} {sep!r} gives rows several labels but multilabel is "
                              "false; drop one of them")


def _label_sets(source: str, raw: Sequence[str | list[str]], where: Callable[[int], str], *,
                label_sep: str | None, label_map: LabelMap,
                label_hierarchy: str | None) -> list[list[str]]:
    """Each row's sorted label set: a list as it is, a string split on ``label_sep``; mapped,
    expanded with its ancestors under ``label_hierarchy``. A row with no label is an error."""
    sets: list[list[str]] = []
    for i, cell in enumerate(raw):
        if isinstance(cell, list):
            if label_sep is not None:
                clash = next((c for c in cell if label_sep in c), None)
                if clash is not None:
                    raise DataError(f"{source}: label '{clash}' at {where(i)} contains the label "
                                    f"separator {label_sep!r}; choose another --label-sep")
            parts = [c.strip() for c in cell]
        else:
            parts = [p.strip() for p in (cell.split(label_sep) if label_sep else [cell])]
        if not any(parts):
            raise DataError(f"{source}: row with no label at {where(i)}; every row needs at "
                            "least one label")
        if not all(parts):
            why = ("an empty label in the list" if isinstance(cell, list)
                   else f"nothing between two separators {label_sep!r}")
            raise DataError(f"{source}: empty label at {where(i)} ({cell!r}: {why}); expected a "
                            "label in each place")
        parts = _apply_label_map(source, parts, label_map, _row_where(where, i))
        if label_hierarchy:
            try:
                parts = [a for p in parts for a in hierarchy_path(p, label_hierarchy)]
            except DataError as e:
                raise DataError(f"{source}: {e} (at {where(i)})") from None
        sets.append(sorted(set(parts)))
    return sets


def _row_where(where: Callable[[int], str], i: int) -> Callable[[int], str]:
    """``where`` of row ``i`` for every part of that row's labels."""
    return lambda _part: where(i)


def _log_multilabel(source: str, why: str, sets: list[list[str]]) -> None:
    n_labels = len({c for s in sets for c in s})
    mean = sum(map(len, sets)) / max(len(sets), 1)
    logger.info("%s: multi-label data (%s): %d rows, %d labels, %.2f labels per row", source,
                why, len(sets), n_labels, mean)


def _multilabel_why(any_list: bool, label_sep: str | None, multilabel: bool | None,
                    label_hierarchy: str | None) -> str | None:
    """Why a data set is multi-label, or None when it is single-label."""
    if multilabel:
        return "multilabel=true"
    if label_hierarchy:
        return f"label hierarchy {label_hierarchy!r}: every label with its ancestors"
    if label_sep is not None:
        return f"labels split on {label_sep!r}"
    if any_list:
        return "rows carry lists of labels"
    return None


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
    label_sep: str | None = None,
    multilabel: bool | None = None,
    label_hierarchy: str | None = None,
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
        ``"parquet"``; ``None`` picks it from the suffix (see
        :data:`embedlab.data.tables.SUFFIXES`; other suffixes need ``format``).
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
    label_sep, multilabel, label_hierarchy:
        Multi-label data (:attr:`TextDataset.label_sets`): the data set is multi-label when
        ``multilabel`` is true, when ``label_sep`` splits each label cell (``"a,b"``), when
        ``label_hierarchy`` names the separator of a label's levels (``LOC:city`` is ``LOC`` and
        ``LOC:city``) or when rows carry lists of labels (JSON, JSON Lines, Parquet); the log
        says which. A row with no label, an empty label between separators and a listed label
        holding ``label_sep`` are one-line errors.

    Notes
    -----
    Files are read by :func:`embedlab.data.tables.iter_records`, as prediction reads them.
    Every cell is read as a string: ``"NA"``, ``"null"`` or ``"0"`` stay text. TSV is read
    without quote handling (``"`` is an ordinary character, as in GLUE-style TSV files); a
    quoted CSV field may hold commas and newlines. Every CSV/TSV row must have as many fields
    as the header (or the first row): a row with more or fewer is an error naming its line.
    A blank line is no row, except in a one-column file (an empty text). Labels are stripped;
    labels that differ only in surrounding spaces are merged with a warning naming them.
    Messages name the data row (from 1) and its line in the file.

    Examples
    --------
    >>> ds = load_table("news.csv", [1, 2], 0, header=False)  # doctest: +SKIP
    """
    path = Path(path)
    fmt = table_format(path, format)
    columns = [text_columns] if isinstance(text_columns, str | int) else list(text_columns)
    if not columns:
        raise ConfigError(f"{path}: text_columns is empty; expected at least one column")
    source = str(path)
    check_label_options(label_sep, label_hierarchy, multilabel)
    by_name = header or fmt not in ("csv", "tsv")
    json_rows = fmt in ("json", "jsonl")
    texts: list[str] = []
    labels: list[str | list[str]] | None = None if label_column is None else []
    places: list[str] = []
    text_keys: list[Column] = []
    label_key: Column | None = None
    label_what = ""
    for rec in iter_records(path, fmt, encoding=encoding, header=header):
        if not text_keys:
            text_keys = [resolve_column(source, c, rec.names, by_name, json=json_rows)
                         for c in columns]
            if label_column is not None:
                label_key = resolve_column(source, label_column, rec.names, by_name,
                                           json=json_rows)
                name = rec.names[label_key] if isinstance(label_key, int) else label_key
                label_what = f"label (column {show(name)})"
                if label_key in text_keys:  # the model would read its answer in its input
                    raise ConfigError(f"{path}: column {show(name)} is both the label column "
                                      "and a text column; give a different --label-column "
                                      "or --text-column")
        for i in range(len(rec.rows)):
            parts = (rec.cell(i, k).strip() for k in text_keys)
            texts.append(" ".join(p for p in parts if p))
            if labels is not None and label_key is not None:
                labels.append(rec.label_cell(i, label_key))
            places.append(rec.where(i))
    if not texts:
        raise DataError(f"{path}: no rows (empty file); expected at least one {fmt} record")

    def where(i: int) -> str:
        return places[i]

    if labels is None:
        return _finish(source, texts, None, where, empty=empty)
    return _labelled(source, texts, labels, where, empty=empty, label_what=label_what,
                     label_map=label_map, label_sep=label_sep, multilabel=multilabel,
                     label_hierarchy=label_hierarchy)


def _labelled(source: str, texts: list[str], labels: Sequence[str | list[str]],
              where: Callable[[int], str], *, empty: EmptyPolicy, label_what: str,
              label_map: LabelMap, label_sep: str | None, multilabel: bool | None,
              label_hierarchy: str | None) -> TextDataset:
    """The data set of rows whose labels are strings or lists: single-label, or multi-label
    when :func:`_multilabel_why` says so (the log says why)."""
    any_list = any(isinstance(c, list) for c in labels)
    why = _multilabel_why(any_list, label_sep, multilabel, label_hierarchy)
    if why is None or multilabel is False:
        if any_list:
            first = next(i for i, c in enumerate(labels) if isinstance(c, list))
            raise DataError(f"{source}: {label_what} at {where(first)} holds a list of labels "
                            "but multilabel is false; expected one label per row")
        single = _strip_labels(source, [c for c in labels if isinstance(c, str)])
        single = _apply_label_map(source, single, label_map, where)
        return _finish(source, texts, single, where, empty=empty, label_what=label_what)
    sets = _label_sets(source, labels, where, label_sep=label_sep, label_map=label_map,
                       label_hierarchy=label_hierarchy)
    _log_multilabel(source, why, sets)
    return _finish(source, texts, None, where, empty=empty, label_sets=sets)


def _strip_labels(source: str, labels: list[str]) -> list[str]:
    """Strip surrounding whitespace from labels, warning when that merges distinct labels."""
    stripped = [label.strip() for label in labels]
    merged: dict[str, set[str]] = {}
    for raw in set(labels):
        merged.setdefault(raw.strip(), set()).add(raw)
    for label, raws in sorted(merged.items()):
        if len(raws) > 1:
            shown = " and ".join(repr(r) for r in sorted(raws))
            logger.warning("%s: labels %s differ only in surrounding spaces; merged as %r",
                           source, shown, label)
    return stripped


# --------------------------------------------------------------------------- folders


def load_folder(
    path: str | Path,
    *,
    encoding: str = "utf-8",
    pattern: str | None = None,
    empty: EmptyPolicy = "skip",
    label_map: LabelMap = None,
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
    label_map:
        Maps a folder name to its label (a dict, which must know every folder, or a
        function), e.g. folders named by label ids and a names file (``label_names``).

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
    texts: list[str] = []
    labels: list[str] = []
    files: list[str] = []
    for rec in iter_records(root, encoding=encoding, pattern=pattern):
        for file, label, text in rec.rows:
            files.append(file)
            labels.append(label)
            texts.append(text)

    def where(i: int) -> str:
        return f"file {files[i]}"

    labels = _apply_label_map(str(root), labels, label_map, where)
    return _finish(str(root), texts, labels, where, empty=empty)


# --------------------------------------------------------------------------- line files


def load_label_lines(
    path: str | Path,
    *,
    encoding: str = "utf-8",
    label_regex: str = r"^(\S+)\s+(.*)$",
    label_map: LabelMap = None,
    empty: EmptyPolicy = "skip",
    multilabel: bool | None = None,
    label_hierarchy: str | None = None,
) -> TextDataset:
    """Load ``LABEL text`` lines (SST ``stsa.*``, TREC ``COARSE:fine question``) or fastText's
    ``__label__a __label__b text`` lines.

    Parameters
    ----------
    label_regex:
        Pattern with two groups, label then text, matched against each line.
        TREC coarse classes: ``r"^([^:\\s]+):\\S*\\s+(.*)$"``, or keep the default and pass
        ``label_map=lambda s: s.split(":")[0]``.
    label_map:
        Mapping or function from raw label to class name (e.g. ``{"0": "negative"}``).
        With a mapping, an unknown raw label is an error naming the line.
    multilabel, label_hierarchy:
        As :func:`load_table`. A line starting with ``__label__`` is read as fastText writes
        it: every leading ``__label__X`` token is a label, the rest is the text; a file where
        a line carries two or more labels is multi-label.

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
    check_label_options(None, label_hierarchy, multilabel)
    texts: list[str] = []
    labels: list[str | list[str]] = []
    line_numbers: list[int] = []
    for lineno, line in text_lines(path, encoding):
        if not line.strip():
            continue
        if line.startswith(FASTTEXT_PREFIX):
            tokens = line.split()  # any whitespace, as fastText splits
            k = next((j for j, t in enumerate(tokens) if not t.startswith(FASTTEXT_PREFIX)),
                     len(tokens))
            names = [t[len(FASTTEXT_PREFIX):] for t in tokens[:k]]
            labels.append(names if len(names) > 1 else names[0])
            texts.append(" ".join(tokens[k:]))
            line_numbers.append(lineno)
            continue
        match = pattern.match(line)
        if match is None:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise DataError(
                f"{path}: line {lineno} does not match 'LABEL text' (pattern {label_regex!r}); "
                f"found {shown!r}"
            )
        labels.append(match.group(1))
        texts.append(match.group(2))
        line_numbers.append(lineno)
    if not texts:
        raise DataError(f"{path}: no rows (empty file); expected 'LABEL text' lines")

    def where(i: int) -> str:
        return f"line {line_numbers[i]}"

    return _labelled(str(path), texts, labels, where, empty=empty, label_what="label",
                     label_map=label_map, label_sep=None, multilabel=multilabel,
                     label_hierarchy=label_hierarchy)


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
    texts = [line for _, line in text_lines(path, encoding)]

    def where(i: int) -> str:
        return f"line {i + 1}"

    labels = [str(label)] * len(texts) if label is not None else None
    return _finish(str(path), texts, labels, where, empty=empty)


def load_indexed_lines(
    index: str | Path,
    corpus: str | Path,
    split: str,
    encoding: str = "utf-8",
    *,
    empty: EmptyPolicy = "skip",
) -> TextDataset:
    """Load the texts of one split from an index file and an aligned corpus file (TextGCN's
    layout, e.g. Ohsumed): line *i* of ``index`` is ``<path>\t<split>\t<label>`` and line *i*
    of ``corpus`` is that document's text; only the rows whose split field is ``split`` are kept.

    The two files must have the same number of lines; an index line without three tab-separated
    fields is an error naming it.
    """
    index, corpus = Path(index), Path(corpus)
    rows = [line for _, line in text_lines(index, encoding)]
    docs = [line for _, line in text_lines(corpus, encoding)]
    if len(rows) != len(docs):
        raise DataError(f"{corpus}: {len(docs):,} lines, but its index {index.name} has "
                        f"{len(rows):,}; the two files must be aligned line by line")
    texts: list[str] = []
    labels: list[str] = []
    line_numbers: list[int] = []
    for i, (row, doc) in enumerate(zip(rows, docs, strict=True)):
        fields = row.split("\t")
        if len(fields) != 3:
            raise DataError(f"{index}: line {i + 1} has {len(fields)} tab-separated field(s); "
                            "expected 3 (path, split, label)")
        if fields[1] == split:
            texts.append(doc)
            labels.append(fields[2].strip())
            line_numbers.append(i + 1)
    if not texts:
        raise DataError(f"{index}: no row has split '{split}'")

    def where(i: int) -> str:
        return f"line {line_numbers[i]}"

    return _finish(str(corpus), texts, labels, where, empty=empty)


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
    label_sep: str | None = None,
    multilabel: bool | None = None,
    label_hierarchy: str | None = None,
    label_names: str | Path | None = None,
) -> TextDataset:
    """Load labelled texts from ``path``, choosing the loader from what the path is.

    ``label_sep``, ``multilabel`` and ``label_hierarchy`` make multi-label data (see
    :func:`load_table`); ``label_names`` is a names file (line *k* names label id *k*, as
    GoEmotions' ``emotions.txt``) used as ``label_map``.

    - a folder → :func:`load_folder` (one sub-folder per class, one text per file; every
      non-hidden file, or those matching ``pattern``);
    - a table (``format`` given, or a suffix of :data:`embedlab.data.tables.SUFFIXES`) →
      :func:`load_table` with ``text_columns`` / ``label_column``;
    - ``label`` given → :func:`load_lines` (one text per line, all of class ``label``);
    - anything else → :func:`load_label_lines` (``LABEL text`` per line).
    """
    p = Path(path)
    fmt = file_format(p, format)
    if label_names is not None:
        if label_map is not None:
            raise ConfigError("give label_map or label_names, not both")
        label_map = label_names_map(label_names)
    many = label_sep is not None or multilabel or label_hierarchy is not None
    if fmt == "folder":
        if many:
            raise ConfigError(f"{p}: a class folder gives one label per file; multi-label data "
                              "needs a table, JSON or fastText lines")
        return load_folder(p, encoding=encoding, pattern=pattern, empty=empty, label_map=label_map)
    if fmt in TABLE_FORMATS:
        return load_table(p, text_columns, label_column, format=format, encoding=encoding,
                          empty=empty, header=header, label_map=label_map, label_sep=label_sep,
                          multilabel=multilabel, label_hierarchy=label_hierarchy)
    if label is not None:
        return load_lines(p, label, encoding, empty=empty)
    if label_sep is not None:
        raise ConfigError(f"{p}: label_sep splits a table's label column; a label-lines file "
                          "gives several labels as fastText does (__label__a __label__b text)")
    return load_label_lines(
        p, encoding=encoding, label_regex=label_regex, label_map=label_map, empty=empty,
        multilabel=multilabel, label_hierarchy=label_hierarchy,
    )
