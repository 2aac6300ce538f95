"""``embedlab predict RUN|EXPORT [TEXT ...] | --file F [--out O]``: texts or a file of any size."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from embedlab.cli.common import console, err_console, rows, setup_logging


def predict(
    run: Annotated[Path, typer.Argument(help="run directory or ONNX export directory")],
    texts: Annotated[list[str] | None, typer.Argument(help="texts to classify")] = None,
    file: Annotated[Path | None, typer.Option(
        help="CSV/TSV/JSON/JSONL/Parquet table, a class folder (one text per file), or any "
             "other file read as one text per line (blank lines kept as empty rows); read as "
             "training reads it, streamed in chunks")] = None,
    text_column: Annotated[list[str] | None, typer.Option(
        help="text column of a table (repeat to join several); default 'text'")] = None,
    id_column: Annotated[str | None, typer.Option(
        help="column copied to each output row (default: the 1-based row number)")] = None,
    encoding: Annotated[str, typer.Option(help="input file encoding, e.g. latin-1")] = "utf-8",
    out: Annotated[Path | None, typer.Option(
        help="write predictions here: .csv, .tsv, .jsonl or .parquet (written atomically)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing --out file")] = False,
    top_k: Annotated[int | None, typer.Option(
        min=1, help="classes (with probabilities) per text, default 3; multi-label: at most K labels in "
             "each set, plus their parents under --label-hierarchy (default: every label over "
             "its threshold)")] = None,
    threshold: Annotated[float | None, typer.Option(
        help="multi-label: one threshold in [0, 1] for every label instead of the thresholds the "
             "run chose on validation")] = None,
    label_sep: Annotated[str, typer.Option(
        help="multi-label --file output: the separator joining a set in the 'labels' column")] = ",",
    probabilities: Annotated[bool, typer.Option(
        "--probabilities", help="multi-label --file output: a p_<label> column per label")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="texts per forward pass")] = 256,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="progress bar on stderr (default: when it is a terminal)")] = None,
    json_lines: Annotated[bool, typer.Option(
        "--json", help="print one JSON object per text (label, probabilities, status, "
                       "known_words) instead of a table line")] = False,
    coverage: Annotated[float | None, typer.Option(
        min=0, max=1, help="also give each text's conformal prediction set: the classes that hold the true "
             "one this often (e.g. 0.95) on texts like the validation split")] = None,
    min_confidence: Annotated[float | None, typer.Option(
        min=0, max=1, help="abstain (no label, status 'abstained') when the top probability is below this")] = None,
) -> None:
    """Predict the class of texts given as arguments, or of every row of a file (streamed).

    A text that preprocessing turns into no tokens (empty, blank, only removed punctuation) is
    an error when given as an argument; in a --file its row is kept with status 'empty'.
    A run calibrated on a validation split flags texts unlike its training data (status
    'out_of_distribution', the label is the model's guess).
    """
    from rich.markup import escape

    from embedlab.artifacts import load
    from embedlab.errors import ConfigError, DataError

    setup_logging()
    if file is not None and texts:
        raise ConfigError("give texts as arguments or --file, not both")
    if file is None and out is not None:
        raise ConfigError("--out needs --file (texts given as arguments are printed)")
    if file is None and not texts:
        raise DataError("nothing to predict: give texts as arguments or --file")
    from embedlab.inference.files import MultiLabelOutput
    from embedlab.inference.prediction import check_threshold

    check_threshold(threshold, top_k)
    predictor = load(run)
    multi = MultiLabelOutput(threshold, top_k, label_sep, probabilities)
    if not predictor.multilabel and (threshold is not None or probabilities):
        raise ConfigError("--threshold and --probabilities apply to multi-label runs; this run "
                          "predicts one label per text")
    if coverage is not None:
        predictor.set_threshold(coverage)  # a one-line error where sets cannot be made
    if file is not None:
        _predict_file(predictor, file, out, text_column or ["text"], id_column, encoding,
                      top_k or 3, batch_size, overwrite, progress, json_lines, multi, coverage,
                      min_confidence)
        return
    from embedlab.inference.prediction import describe_empty

    if predictor.multilabel:
        preds = predictor.predict(list(texts or []), batch_size=batch_size, threshold=threshold,
                                  top_k=top_k, min_confidence=min_confidence)
    else:
        preds = predictor.predict(list(texts or []), batch_size=batch_size, coverage=coverage,
                                  min_confidence=min_confidence)
    top_k = top_k or 3
    empty = [i for i, p in enumerate(preds) if p.status == "empty"]
    if empty:
        raise DataError(describe_empty(empty))
    for i, (text, p) in enumerate(zip(texts or [], preds, strict=True)):
        if p.known_words == 0:
            err_console.print(f"[yellow]warning:[/] text {i}: no word is in the model's vocabulary; "
                              "the prediction is a guess", highlight=False, soft_wrap=True)
        if p.labels is not None:  # multi-label: the set, then every label of it with its probability
            if json_lines:
                sys.stdout.write(json.dumps({"text": text, **p.to_dict()}, ensure_ascii=False) + "\n")
                continue
            shown = ", ".join(f"{c} {p.probabilities[c]:.3f}" for c in p.labels)
            verdict = escape(label_sep.join(p.labels) or "-")
            console.print(f"[bold]{verdict}[/]{_flag(p.status)}\t{escape(shown)}\t{escape(text)}",
                          highlight=False, markup=True, soft_wrap=True)
            continue
        if json_lines:
            record = {"text": text, **p.to_dict(), "probabilities": dict(p.top(top_k))}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            continue
        top = ", ".join(f"{c} {v:.3f}" for c, v in p.top(top_k))
        extra = _flag(p.status) + ("" if p.prediction_set is None
                                   else escape(f" set={{{', '.join(p.prediction_set)}}}"))
        console.print(f"[bold]{escape(p.label or '-')}[/]{extra}\t{escape(top)}\t{escape(text)}",
                      highlight=False, markup=True, soft_wrap=True)


def _flag(status: str) -> str:
    """`` [status]`` for a status a reader must notice (empty for ok)."""
    from rich.markup import escape

    return "" if status in ("ok", "no_known_words") else escape(f" [{status}]")


def _predict_file(predictor, file: Path, out: Path | None, text_columns: list[str],
                  id_column: str | None, encoding: str, top_k: int, batch_size: int,
                  overwrite: bool, progress: bool | None, json_lines: bool, multi,
                  coverage: float | None, min_confidence: float | None) -> None:
    from rich.markup import escape

    from embedlab.inference.files import iter_predictions, output_records, predict_file

    if out is not None:
        report = predict_file(predictor, file, out, text_columns=text_columns, id_column=id_column,
                              encoding=encoding, top_k=top_k, overwrite=overwrite,
                              progress=progress, batch_size=batch_size, multi=multi,
                              coverage=coverage, min_confidence=min_confidence)
        console.print(f"wrote {report.rows:,} predictions to {out} in {report.seconds:.1f}s "
                      f"({report.texts_per_s:,.0f} texts/s)", highlight=False)
        if report.empty or report.no_known_words:
            err_console.print(f"[yellow]warning:[/] {rows(report.empty, 'empty row')} (status "
                              f"'empty', no label), {report.no_known_words:,} with no known word "
                              "(status 'no_known_words')", highlight=False, soft_wrap=True)
        return
    for chunk in iter_predictions(predictor, file, text_columns=text_columns, id_column=id_column,
                                  encoding=encoding, top_k=top_k, batch_size=batch_size,
                                  multi=multi, coverage=coverage, min_confidence=min_confidence):
        if json_lines or chunk.label_sets is not None:
            k = min(top_k, len(predictor.classes))
            records = output_records(chunk, id_column or "row", k, multi, predictor.classes)
            if json_lines:
                sys.stdout.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
                continue
            for r in records:
                console.print("\t".join(escape(str(v)) for v in r.values()), highlight=False,
                              markup=True, soft_wrap=True)
            continue
        for j, row_id in enumerate(chunk.ids):
            top = ", ".join(f"{c} {v:.3f}" for c, v in zip(chunk.top_labels[j], chunk.top_probs[j],
                                                                  strict=True))
            label = (chunk.labels[j] if chunk.labels is not None
                     else chunk.top_labels[j][0] if chunk.top_labels[j] else None) or "-"
            flag = "" if chunk.status[j] == "ok" else escape(f" [{chunk.status[j]}]")
            if chunk.prediction_sets is not None and chunk.status[j] != "empty":
                flag += escape(f" set={{{', '.join(chunk.prediction_sets[j])}}}")
            console.print(f"{escape(str(row_id))}\t[bold]{escape(label)}[/]{flag}\t{escape(top)}\t"
                          f"{escape(chunk.texts[j])}", highlight=False, markup=True, soft_wrap=True)
