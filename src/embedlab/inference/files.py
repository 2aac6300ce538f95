"""Streaming prediction over files of any size: read in chunks, predict, write, never the whole file.

Input: any format :mod:`embedlab.data.tables` reads (the reader training uses, so a file gives
the same rows to both): CSV, TSV, JSON array, JSON Lines, Parquet, a class folder (one text per
file) or any other file read as one text per line (blank lines kept as empty rows; in a
one-column CSV/TSV a blank line is an empty cell too, elsewhere it is no record). Output: CSV,
TSV, JSON Lines (``.jsonl``, ``.ndjson``, ``.json``) or Parquet by the ``out`` suffix. Every
input row gives exactly one output row, in order, carrying the ``id_column`` value (or the
1-based row number), the top-k labels with their probabilities, ``status`` (``ok`` /
``no_known_words`` / ``empty`` / ``out_of_distribution`` / ``abstained``) and ``known_words``
(plus ``prediction_set`` with a coverage, ``ood_score`` for a run with a detector). A multi-label
run writes instead a ``labels`` column (the predicted set joined by ``label_sep``) and, on
request, a ``p_<label>`` column per label (:class:`MultiLabelOutput`), then ``ood_score``. An
empty text never aborts the run: its row gets status ``empty`` and no label. The output is
written to a temporary file renamed into place
at the end, so an error or Ctrl-C leaves no partial output.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedlab.atomic import atomic_file, check_writable
from embedlab.data.tables import CHUNK_ROWS, SUFFIXES, Chunk, parquet_rows, read_chunks
from embedlab.errors import ArtifactError, ConfigError, DataError
from embedlab.inference.encoding import INFERENCE_BATCH
from embedlab.inference.prediction import TextPredictor

#: Output suffix → format, from the one suffix table (a ``.json`` output is JSON Lines).
WRITE_FORMATS = {suffix: "jsonl" if fmt == "json" else fmt for suffix, fmt in SUFFIXES.items()}


@dataclass(frozen=True)
class MultiLabelOutput:
    """How a multi-label run's predictions are decided and written: ``threshold`` (one for every
    label) and ``top_k`` (at most k labels) override the run's thresholds; ``label_sep`` joins a
    set in the ``labels`` column; ``probabilities`` adds a ``p_<label>`` column per label."""

    threshold: float | None = None
    top_k: int | None = None
    label_sep: str = ","
    probabilities: bool = False


@dataclass
class ChunkPredictions:
    """Predictions of one chunk: ``top_labels[i]`` / ``top_probs[i]`` are empty for empty rows;
    ``labels[i]`` is the answer (None for an empty or abstained row); ``prediction_sets`` when a
    coverage was asked, ``ood_scores`` when the run has an out-of-distribution detector;
    multi-label: ``label_sets[i]`` the predicted set and ``all_probs[i]`` every label's
    probability (empty for empty rows)."""

    ids: list[Any]
    texts: list[str]
    status: list[str]
    known_words: list[int]
    top_labels: list[list[str]]
    top_probs: list[list[float]]
    labels: list[str | None] | None = None
    prediction_sets: list[list[str]] | None = None
    ood_scores: list[float | None] | None = None
    label_sets: list[list[str]] | None = None
    all_probs: list[list[float]] | None = None


@dataclass
class BatchReport:
    """Counts and speed of a batch prediction."""

    rows: int
    empty: int
    no_known_words: int
    seconds: float
    out: Path | None

    @property
    def texts_per_s(self) -> float:
        return self.rows / max(self.seconds, 1e-9)


# ----- predicting -------------------------------------------------------------------------
def predict_chunk(predictor: TextPredictor, chunk: Chunk, top_k: int,
                  batch_size: int = INFERENCE_BATCH, *, coverage: float | None = None,
                  min_confidence: float | None = None,
                  multi: MultiLabelOutput | None = None) -> ChunkPredictions:
    """Top-k labels and probabilities for one chunk (empty texts get none), with the statuses,
    sets and OOD scores of :meth:`TextPredictor.predict_encoded`; a multi-label predictor also
    gives each row's label set (decided as ``multi`` says)."""
    multi = multi or MultiLabelOutput()
    preds = predictor.predict_encoded(predictor.encode_arrays(chunk.texts), batch_size,
                                      threshold=multi.threshold if predictor.multilabel else None,
                                      top_k=multi.top_k if predictor.multilabel else None,
                                      coverage=coverage, min_confidence=min_confidence)
    tops = [p.top(top_k) for p in preds]
    # from the run, not the chunk: a chunk of empty texts scores none, and keeps the column
    has_ood = predictor.decisions is not None and predictor.decisions.ood is not None
    out = ChunkPredictions(
        chunk.ids, chunk.texts, [p.status for p in preds], [p.known_words for p in preds],
        [[c for c, _ in t] for t in tops], [[v for _, v in t] for t in tops],
        [p.label for p in preds],
        None if coverage is None else [p.prediction_set or [] for p in preds],
        [p.ood_score for p in preds] if has_ood else None)
    if predictor.multilabel:
        classes = predictor.classes
        out.label_sets = [list(p.labels or ()) for p in preds]
        out.all_probs = [[p.probabilities[c] for c in classes] if p.probabilities else []
                         for p in preds]
    return out


def iter_predictions(predictor: TextPredictor, path: str | Path, *, text_columns: Sequence[str] = ("text",),
                     id_column: str | None = None, encoding: str = "utf-8", top_k: int = 1,
                     chunk_rows: int = CHUNK_ROWS, batch_size: int = INFERENCE_BATCH,
                     coverage: float | None = None, min_confidence: float | None = None,
                     multi: MultiLabelOutput | None = None) -> Iterator[ChunkPredictions]:
    """Predict ``path`` chunk by chunk (memory bounded by the chunk, not the file)."""
    predictor.set_threshold(coverage)  # a bad coverage fails before the file is read
    if top_k < 1:
        raise ConfigError(f"top_k must be at least 1, found {top_k}")
    _check_multi(predictor, multi)
    rows = 0
    for chunk in read_chunks(path, text_columns, id_column, encoding, chunk_rows):
        rows += len(chunk.ids)
        if len(chunk.ids):
            yield predict_chunk(predictor, chunk, top_k, batch_size, coverage=coverage,
                                min_confidence=min_confidence, multi=multi)
    if not rows:
        raise DataError(f"{path}: no rows to predict (the file is empty or holds a header only)")


def _check_multi(predictor: TextPredictor, multi: MultiLabelOutput | None) -> None:
    """Multi-label options on a single-label run, or bad values, are one-line errors."""
    if multi is None:
        return
    from embedlab.inference.prediction import check_threshold

    check_threshold(multi.threshold, multi.top_k)
    if not predictor.multilabel and (multi.threshold is not None or multi.probabilities):
        raise ConfigError("--threshold and --probabilities apply to multi-label runs; this run "
                          "predicts one label per text")
    if not multi.label_sep:
        raise ConfigError("label_sep is empty; expected a separator such as ','")
    clash = next((c for c in predictor.classes if multi.label_sep in c), None)
    if predictor.multilabel and clash is not None:
        raise ConfigError(f"label '{clash}' contains the separator {multi.label_sep!r}: the "
                          "labels column could not be split back; choose another --label-sep")


# ----- writing ----------------------------------------------------------------------------
#: separator of the classes in the ``prediction_set`` column
SET_SEPARATOR = "|"


def multilabel_columns(id_name: str, classes: Sequence[str], probabilities: bool,
                       ood: bool = False) -> list[str]:
    """A multi-label output's columns: id, the joined label set, status, known words,
    ``p_<label>`` per label on request, and ``ood_score`` for a run with a detector."""
    extra = [f"p_{c}" for c in classes] if probabilities else []
    return [id_name, "labels", "status", "known_words", *extra] + (["ood_score"] if ood else [])


def _multilabel_records(p: ChunkPredictions, multi: MultiLabelOutput, n_classes: int,
                        ood: bool = False) -> Iterator[list[Any]]:
    assert p.label_sets is not None and p.all_probs is not None
    for j in range(len(p.ids)):
        empty = p.status[j] == "empty"
        row: list[Any] = [p.ids[j], None if empty else multi.label_sep.join(p.label_sets[j]),
                          p.status[j], p.known_words[j]]
        if multi.probabilities:
            row += p.all_probs[j] if not empty else [None] * n_classes
        if ood:
            row.append(None if p.ood_scores is None else p.ood_scores[j])
        yield row


def _columns(id_name: str, k: int, sets: bool = False, ood: bool = False) -> list[str]:
    cols = [id_name, "label", "probability"]
    for i in range(2, k + 1):
        cols += [f"label_{i}", f"probability_{i}"]
    return (cols + ["status", "known_words"] + (["prediction_set"] if sets else [])
            + (["ood_score"] if ood else []))


def _records(p: ChunkPredictions, k: int, sets: bool = False, ood: bool = False) -> Iterator[list[Any]]:
    for j in range(len(p.ids)):
        row: list[Any] = [p.ids[j]]
        labels, probs = p.top_labels[j], p.top_probs[j]
        for i in range(k):
            row += [labels[i], probs[i]] if i < len(labels) else [None, None]
        if p.labels is not None:  # the answer: None when abstained (its probability kept)
            row[1] = p.labels[j]
        row += [p.status[j], p.known_words[j]]
        if sets:
            row.append(None if p.status[j] == "empty" or p.prediction_sets is None
                       else SET_SEPARATOR.join(p.prediction_sets[j]))
        if ood:
            row.append(None if p.ood_scores is None else p.ood_scores[j])
        yield row


def output_records(p: ChunkPredictions, id_name: str, top_k: int,
                   multi: MultiLabelOutput | None = None,
                   classes: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
    """The output rows of one chunk as dicts (the columns every output format has, plus
    ``prediction_set`` and ``ood_score`` when the chunk has them)."""
    sets, ood = p.prediction_sets is not None, p.ood_scores is not None
    if p.label_sets is not None:
        multi = multi or MultiLabelOutput()
        names = multilabel_columns(id_name, classes, multi.probabilities, ood)
        for row in _multilabel_records(p, multi, len(classes), ood):
            yield dict(zip(names, row, strict=True))
        return
    columns = _columns(id_name, top_k, sets, ood)
    for row in _records(p, top_k, sets, ood):
        yield dict(zip(columns, row, strict=True))


class _Writer:
    """Writes output rows in one format: CSV/TSV/JSON Lines through a text file, or Parquet."""

    def __init__(self, path: Path, fmt: str, columns: list[str], row_numbers: bool) -> None:
        self.fmt, self.columns, self.row_numbers = fmt, columns, row_numbers
        self._pq: Any = None  # a pyarrow ParquetWriter, opened by the first chunk
        self.file: Any = None  # the text file (CSV, TSV, JSON Lines)
        if fmt != "parquet":
            self.file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            if fmt in ("csv", "tsv"):
                self.csv = csv.writer(self.file, delimiter="," if fmt == "csv" else "\t")
                self.csv.writerow(columns)
        self.path = path

    def write(self, rows: list[list[Any]]) -> None:
        if self.fmt in ("csv", "tsv"):
            self.csv.writerows(
                [[("" if v is None else f"{v:.6f}" if isinstance(v, float) else v) for v in r]
                 for r in rows])
        elif self.fmt == "jsonl":
            self.file.writelines(
                json.dumps(dict(zip(self.columns, r, strict=True)), ensure_ascii=False) + "\n" for r in rows)
        else:
            self._write_parquet(rows)

    def _write_parquet(self, rows: list[list[Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in self.columns]
        arrays = []
        for name, values in zip(self.columns, cols, strict=True):
            if name == self.columns[0]:  # row numbers, or pass-through ids as text
                if self.row_numbers:
                    arrays.append(pa.array(values, type=pa.int64()))
                else:
                    arrays.append(pa.array([None if v is None else str(v) for v in values],
                                           type=pa.string()))
            elif name.startswith(("probability", "p_")) or name == "ood_score":
                arrays.append(pa.array(values, type=pa.float32()))
            elif name == "known_words":
                arrays.append(pa.array(values, type=pa.int32()))
            else:
                arrays.append(pa.array(values, type=pa.string()))
        table = pa.Table.from_arrays(arrays, names=self.columns)
        if self._pq is None:
            self._pq = pq.ParquetWriter(str(self.path), table.schema)
        self._pq.write_table(table)

    def close(self) -> None:
        if self.fmt == "parquet":
            if self._pq is None:
                self._write_parquet([])
            self._pq.close()
        else:
            self.file.close()


def predict_file(predictor: TextPredictor, path: str | Path, out: str | Path, *,
                 text_columns: Sequence[str] = ("text",), id_column: str | None = None,
                 encoding: str = "utf-8", top_k: int = 1, overwrite: bool = False,
                 progress: bool | None = None, chunk_rows: int = CHUNK_ROWS,
                 batch_size: int = INFERENCE_BATCH, coverage: float | None = None,
                 min_confidence: float | None = None,
                 multi: MultiLabelOutput | None = None) -> BatchReport:
    """Predict every row of ``path`` into ``out`` (format from its suffix), streaming.

    A multi-label run writes the ``labels`` column (and ``p_<label>`` columns) that ``multi``
    describes, instead of the top-k columns.

    ``progress=None`` shows a bar with texts/s on stderr only when it is a terminal. ``out`` is
    written atomically; an existing file is replaced only with ``overwrite``. ``coverage`` adds
    a ``prediction_set`` column (classes joined by ``|``); a run with an out-of-distribution
    detector adds ``ood_score``; ``min_confidence`` abstains (no label, status ``abstained``).
    """
    path, out = Path(path), Path(out)
    if top_k < 1:
        raise ConfigError(f"top_k must be at least 1, found {top_k}")
    fmt = WRITE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{out}: unknown output format '{out.suffix}'; use "
                          f"{', '.join(sorted(WRITE_FORMATS))}")
    if out.exists() and out.resolve() == path.resolve():
        raise ConfigError(f"{out}: the output would overwrite the input file")
    if out.exists() and not overwrite:
        raise ArtifactError(f"{out}: already exists; choose another --out or pass --overwrite")
    if out.exists() and not out.is_file():
        raise ArtifactError(f"{out}: exists and is not a file")
    check_writable(out)
    _check_multi(predictor, multi)
    predictor.set_threshold(coverage)  # a bad coverage fails before anything is written
    k = min(top_k, len(predictor.classes))
    sets = coverage is not None
    ood = predictor.decisions is not None and predictor.decisions.ood is not None
    if predictor.multilabel:
        multi = multi or MultiLabelOutput()
        columns = multilabel_columns(id_column or "row", predictor.classes, multi.probabilities, ood)
    else:
        columns = _columns(id_column or "row", k, sets, ood)
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=parquet_rows(path), unit=" texts", unit_scale=True, file=sys.stderr,
                   desc="predicting", dynamic_ncols=True)
    rows = empty = unknown = 0
    t0 = time.perf_counter()
    try:
        chunks = iter_predictions(predictor, path, text_columns=text_columns, id_column=id_column,
                                  encoding=encoding, top_k=top_k, chunk_rows=chunk_rows,
                                  batch_size=batch_size, coverage=coverage,
                                  min_confidence=min_confidence, multi=multi)
        with atomic_file(out, overwrite=overwrite) as tmp:
            writer = _Writer(tmp, fmt, columns, row_numbers=id_column is None)
            try:
                for p in chunks:
                    if multi is not None and p.label_sets is not None:
                        writer.write(list(_multilabel_records(p, multi, len(predictor.classes), ood)))
                    else:
                        writer.write(list(_records(p, k, sets, ood)))
                    rows += len(p.ids)
                    empty += p.status.count("empty")
                    unknown += p.status.count("no_known_words")
                    if bar is not None:
                        bar.update(len(p.ids))
            finally:
                writer.close()
    finally:
        if bar is not None:
            bar.close()
    return BatchReport(rows, empty, unknown, time.perf_counter() - t0, out)
